"""The few statistics the demo report needs, on per-query 0/1 outcomes.

Disc and gen answer the SAME queries, so their difference is tested per query (paired):
the standard error of the mean difference, and McNemar's exact test on the queries where
exactly one mode is right. Across seeds: the mean and the standard deviation of a score.
"""
from __future__ import annotations

import math
from typing import Sequence


def mean(values: Sequence[float]) -> float | None:
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def standard_error(values: Sequence[float]) -> float:
    """Of the mean: sample standard deviation / sqrt(n) (0 for fewer than two values)."""
    n = len(values)
    if n < 2:
        return 0.0
    m = sum(values) / n
    return math.sqrt(sum((v - m) ** 2 for v in values) / (n - 1) / n)


def spread(values: Sequence[float]) -> float:
    """The sample standard deviation (0 for fewer than two values)."""
    return standard_error(values) * math.sqrt(len(values)) if len(values) > 1 else 0.0


def mcnemar_p(only_a: int, only_b: int) -> float:
    """Exact two-sided McNemar p-value: under no difference, each discordant query is equally
    likely to favour either mode (a binomial with p = 1/2)."""
    n = only_a + only_b
    if n == 0:
        return 1.0
    k = min(only_a, only_b)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2 ** n
    return min(1.0, 2 * tail)


def paired(a: Sequence[bool], b: Sequence[bool]) -> dict:
    """a minus b over the same queries: the difference of the hit rates, its standard error,
    the discordant counts and McNemar's p."""
    if len(a) != len(b):
        raise ValueError("paired outcomes must cover the same queries")
    d = [float(x) - float(y) for x, y in zip(a, b)]
    only_a = sum(1 for x, y in zip(a, b) if x and not y)
    only_b = sum(1 for x, y in zip(a, b) if y and not x)
    return {"diff": mean(d) or 0.0, "se": standard_error(d), "only_a": only_a, "only_b": only_b,
            "p": mcnemar_p(only_a, only_b), "n": len(d)}
