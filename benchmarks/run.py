"""Run the benchmarks: `python -m benchmarks.run [--quick] [--only NAME ...]`.

Each module in benchmarks/ with a `run(quick) -> dict` is one benchmark. Results go to
benchmarks/results/NAME.json and a combined markdown table, benchmarks/results/README.md,
which the project README's "Performance" section shows.
"""
from __future__ import annotations

import argparse
import importlib
import json
import pkgutil
import platform
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
SKIP = {"run", "common", "__init__", "gpu"}  # gpu.py runs on a CUDA machine (gpu.sh)


def discover() -> list[str]:
    return sorted(i.name for i in pkgutil.iter_modules([str(HERE)]) if i.name not in SKIP)


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"
    return str(v)


def _rows(result: dict) -> list[dict]:
    if "rows" in result:
        return result["rows"]
    # modules that return flat figures: show numbers, ratios first
    flat = [{"metric": k, "value": v} for k, v in result.items()
            if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return sorted(flat, key=lambda r: "ratio" not in r["metric"])


def markdown(results: dict[str, dict], machine: str) -> str:
    lines = [f"Measured on {machine}. Ratio > 1 means umer1's way is better than the baseline "
             "measured in the same run (medians over repeats).", "",
             "| benchmark | figure | value | baseline | ratio |", "|---|---|---|---|---|"]
    for name, res in results.items():
        if "error" in res:
            lines.append(f"| {name} | failed: {res['error']} | | | |")
            continue
        for r in _rows(res):
            base = f"{_fmt(r['baseline'])} ({r.get('baseline_name', '')})" if "baseline" in r else ""
            ratio = f"{r['ratio']:.2f}x" if "ratio" in r else ""
            unit = f" {r['unit']}" if r.get("unit") else ""
            lines.append(f"| {name} | {r['metric']} | {_fmt(r['value'])}{unit} | {base} | {ratio} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats, smaller sizes")
    ap.add_argument("--only", nargs="*", help="benchmark module names")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(HERE.parent))
    names = args.only or discover()
    RESULTS.mkdir(exist_ok=True)
    machine = f"{platform.machine()} CPU, {platform.python_implementation()} {platform.python_version()}"
    results = {}
    for name in names:
        print(f"== {name}", flush=True)
        t = time.time()
        try:
            res = importlib.import_module(f"benchmarks.{name}").run(quick=args.quick)
        except Exception as exc:  # one broken benchmark must not hide the others
            traceback.print_exc()
            res = {"error": f"{type(exc).__name__}: {exc}"}
        res["seconds"] = round(time.time() - t, 1)
        res["quick"] = args.quick
        (RESULTS / f"{name}.json").write_text(json.dumps(res, indent=2) + "\n")
        results[name] = res
        print(markdown({name: res}, machine), flush=True)
    if not args.only:
        (RESULTS / "README.md").write_text("# Benchmark results\n\n" + markdown(results, machine))
    return 1 if any("error" in r for r in results.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
