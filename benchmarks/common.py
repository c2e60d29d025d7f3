"""Timing helpers shared by the benchmarks: medians of repeats, and result rows.

Machines here are shared and noisy, so every figure is reported as a ratio against a
baseline measured in the same run, interleaved with it, as a median over repeats.
"""
from __future__ import annotations

import statistics
import time
from typing import Callable


def median_time(fn: Callable[[], object], repeats: int, warmup: int = 1) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def paired_median_times(a: Callable[[], object], b: Callable[[], object], repeats: int,
                        warmup: int = 1) -> tuple[float, float]:
    """Median times of a and b, run alternately so drifts in machine load hit both alike."""
    for _ in range(warmup):
        a(), b()
    ta, tb = [], []
    for _ in range(repeats):
        t = time.perf_counter(); a(); ta.append(time.perf_counter() - t)
        t = time.perf_counter(); b(); tb.append(time.perf_counter() - t)
    return statistics.median(ta), statistics.median(tb)


def row(metric: str, value: float, unit: str = "", baseline: float | None = None,
        baseline_name: str = "", higher_is_better: bool = True, note: str = "") -> dict:
    """One figure; `ratio` > 1 always means ours is better than the baseline."""
    r = {"metric": metric, "value": value, "unit": unit, "note": note}
    if baseline is not None:
        r["baseline"] = baseline
        r["baseline_name"] = baseline_name
        r["ratio"] = (value / baseline) if higher_is_better else (baseline / value)
    return r
