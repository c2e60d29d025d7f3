"""The demo's report: report.md and plots, every number read from the runs' own files.

One run or several seeds: scores are means over seeds (with their standard deviation when
there are several); paired statistics (gen minus disc, RL minus SFT) pool every query of every
seed, each query compared with itself. Per-query outcomes come from `demo_eval`, curves from
the trainers' `metrics.jsonl`.
"""
from __future__ import annotations

from pathlib import Path

from umer1.experiments import demo_plots as plots
from umer1.experiments.demo_eval import read_rows
from umer1.experiments.demo_stats import mean, paired, spread, standard_error
from umer1.experiments.synthetic.registry import REASONING
from umer1.utils.files import atomic_path

GOAL = 0.05        # gen above disc on the reasoning tasks by at least 5 points ...
Z = 2.0            # ... and by more than two standard errors


def _pct(x, digits: int = 1) -> str:
    return "-" if x is None else f"{100 * x:.{digits}f}"


def _task(name: str) -> str:
    return name.removeprefix("shapes_")


def stages(runs: list[dict]) -> list[str]:
    """The evaluated models, in order (RL only when every seed trained it)."""
    return ["sft"] + (["rl"] if all("rl" in r["eval"] for r in runs) else [])


def collect(runs: list[dict]) -> dict:
    """{stage: {task: {"rows": pooled rows, "per_seed": [rows of each seed], "chance"}}}."""
    out: dict = {}
    for stage in stages(runs):
        for run in runs:
            ev = run["eval"][stage]
            for task, info in ev["tasks"].items():
                t = out.setdefault(stage, {}).setdefault(task, {"rows": [], "per_seed": [], "chance": []})
                rows = read_rows(ev["dir"], task)
                t["rows"] += rows
                t["per_seed"].append(rows)
                t["chance"].append(info["chance"])
    return out


def score(rows: list[dict], key: str) -> float:
    return mean([float(r[key]) for r in rows]) or 0.0


def task_table(entry: dict) -> dict:
    """Every number of one (stage, task): seed means, pooled paired statistics, decomposition."""
    rows = entry["rows"]
    seeds = entry["per_seed"]
    out = {"chance": mean(entry["chance"]), "queries": len(rows), "seeds": len(seeds)}
    for key in ("disc", "gen", "gold"):
        per = [score(s, key) for s in seeds]
        out[key], out[key + "_sd"] = mean(per), spread(per)
        out[key + "_se"] = standard_error([float(r[key]) for r in rows])
    out["oracle"] = mean([float(r["disc"] or r["gen"]) for r in rows])
    out["gap"] = paired([r["gen"] for r in rows], [r["disc"] for r in rows])
    out["generation"] = paired([r["gen"] for r in rows], [r["gold"] for r in rows])
    out["embedding"] = paired([r["gold"] for r in rows], [r["disc"] for r in rows])
    out["found"] = score(rows, "found")
    out["candidates_found"] = mean([r["candidates_found"] for r in rows])
    out["facts"] = score(rows, "facts")
    out["summary_right"] = score(rows, "summary_right")
    right = [r for r in rows if r["summary_right"]]
    wrong = [r for r in rows if not r["summary_right"]]
    out["gen_if_right"] = score(right, "gen") if right else None
    out["gen_if_wrong"] = score(wrong, "gen") if wrong else None
    return out


def pooled(entries: dict, names: list[str]) -> dict | None:
    rows = [r for n in names for r in entries[n]["rows"]]
    if not rows:
        return None
    return {"gap": paired([r["gen"] for r in rows], [r["disc"] for r in rows]),
            "disc": score(rows, "disc"), "gen": score(rows, "gen"), "queries": len(rows)}


def _sd(t: dict, key: str) -> str:
    return _pct(t[key]) + (f" ± {_pct(t[key + '_sd'])}" if t["seeds"] > 1 else "")


def _gap(g: dict) -> str:
    return f"{100 * g['diff']:+.1f} ± {100 * g['se']:.1f} (p {g['p']:.2g})"


def main_table(tables: dict) -> str:
    """Per task: chance, disc and gen of each stage, the final model's gen - disc."""
    st = list(tables)
    head = ["task", "kind", "chance"] + [f"{s.upper()} {m}" for s in st for m in ("disc", "gen")] \
        + [f"{st[-1].upper()} oracle", f"{st[-1].upper()} gen - disc ± s.e. (McNemar p)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for task in tables[st[0]]:
        cells = [_task(task), "reasoning" if _task(task) in REASONING else "perception",
                 _pct(tables[st[0]][task]["chance"])]
        cells += [_sd(tables[s][task], m) for s in st for m in ("disc", "gen")]
        final = tables[st[-1]][task]
        cells += [_pct(final["oracle"]), _gap(final["gap"])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def decomposition(tables: dict) -> str:
    head = ["model", "task", "disc", "gen (own trace)", "gen (gold trace)", "gen - gold: generation",
            "gold - disc: embedding", "facts stated", "summary right", "gen if summary right / wrong",
            "`<gen_emb>` written (queries / candidates)"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for stage, tasks in tables.items():
        for task, t in tasks.items():
            lines.append("| " + " | ".join([
                stage.upper(), _task(task), _pct(t["disc"]), _pct(t["gen"]), _pct(t["gold"]),
                f"{100 * t['generation']['diff']:+.1f}", f"{100 * t['embedding']['diff']:+.1f}",
                _pct(t["facts"]), _pct(t["summary_right"]),
                f"{_pct(t['gen_if_right'])} / {_pct(t['gen_if_wrong'])}",
                f"{_pct(t['found'])} / {_pct(t['candidates_found'])}"]) + " |")
    return "\n".join(lines)


def verdict(tables: dict, entries: dict, runs: list[dict]) -> list[str]:
    final = list(tables)[-1]
    tasks = list(tables[final])
    reasoning = [t for t in tasks if _task(t) in REASONING]
    perception = [t for t in tasks if t not in reasoning]
    lines = []
    for label, names in (("reasoning", reasoning), ("perception", perception)):
        p = pooled(entries[final], names)
        if p is None:
            continue
        g = p["gap"]
        lines.append(f"- {label.capitalize()} tasks ({', '.join(_task(n) for n in names)}; {p['queries']} "
                     f"queries pooled), {final.upper()} model: gen {_pct(p['gen'])} vs disc {_pct(p['disc'])}, "
                     f"gen - disc **{_gap(g)}**.")
    if reasoning:
        # Per seed: queries pooled over seeds hide how much the seeds disagree.
        gaps = [paired([r["gen"] for n in reasoning for r in entries[final][n]["per_seed"][i]],
                       [r["disc"] for n in reasoning for r in entries[final][n]["per_seed"][i]])
                for i in range(len(runs))]
        met = [g["diff"] >= GOAL and g["diff"] - Z * g["se"] > 0 for g in gaps]
        if len(runs) > 1:
            lines.append("- Per seed, reasoning tasks, gen - disc: " + "; ".join(
                f"seed {r['config']['seed']} {_gap(g)}" for r, g in zip(runs, gaps)) + ".")
        lines.append("- Goal (gen above disc on the reasoning tasks by at least 5 points, more than "
                     f"{Z:g} standard errors, in every seed): **{'met' if all(met) else 'NOT met'}**"
                     + ("" if len(runs) == 1 else f" (met in {sum(met)} of {len(runs)} seeds)") + ".")
    gen_loss = mean([tables[final][t]["generation"]["diff"] for t in tasks])
    emb = mean([tables[final][t]["embedding"]["diff"] for t in tasks])
    lines.append(f"- Where gen - disc comes from ({final.upper()} model, mean over tasks): "
                 f"{100 * gen_loss:+.1f} points from generation quality (own trace vs the gold trace) "
                 f"and {100 * emb:+.1f} points from the embedding itself (gen after the gold trace vs disc).")
    lines += rl_lines(tables, entries, runs)
    return lines


def rl_lines(tables: dict, entries: dict, runs: list[dict]) -> list[str]:
    stopped = [r["rl"]["stopped"] for r in runs if r["rl"].get("stopped")]
    if stopped:
        return [f"- RL did not run: {stopped[0]} The table's numbers are the SFT model's."]
    if "rl" not in tables:
        return ["- RL was not run (rl.steps = 0)."]
    lines = []
    for task in tables["rl"]:
        a, b = entries["rl"][task]["rows"], entries["sft"][task]["rows"]
        g = paired([r["gen"] for r in a], [r["gen"] for r in b])
        word = "improved on" if g["diff"] - Z * g["se"] > 0 else "did **not** clearly improve on"
        lines.append(f"- {_task(task)}: RL {word} SFT in gen mode: {_gap(g)}.")
    return lines


def rl_summary(runs: list[dict]) -> str:
    from umer1.utils.plots import read_metrics
    parts = []
    for r in runs:
        path = Path(r["rl"]["metrics"])
        rows = read_metrics(path) if path.is_file() else []
        if not rows:
            continue
        first, last = rows[0], rows[-1]
        parts.append(f"seed {r['config']['seed']}: {len(rows)} steps; reward {first['reward']:.3f} -> "
                     f"{last['reward']:.3f}; format rate {_pct(first['format_rate'])}% -> "
                     f"{_pct(last['format_rate'])}%; groups with zero reward spread "
                     f"{_pct(mean([x['zero_spread_groups'] for x in rows]))}% (mean); "
                     f"KL at the end {last.get('kl', 0.0):.4f}")
    return "; ".join(parts) or "no RL steps"


def passk_curves(tables: dict, entries: dict) -> dict:
    final = list(tables)[-1]
    curves = {}
    from umer1.eval.passk import unbiased_pass_at_k
    for task, e in entries[final].items():
        rows = [r for r in e["rows"] if r["passk"] is not None]
        if not rows:
            continue
        K = len(rows[0]["passk"])
        ks = list(range(1, K + 1))
        per = [[unbiased_pass_at_k(K, sum(r["passk"]), k) for r in rows] for k in ks]
        chance = tables[final][task]["chance"]
        curves[_task(task)] = {"k": ks, "passk": [mean(p) for p in per],
                               "se": [standard_error(p) for p in per],
                               "chance": [1 - (1 - chance) ** k for k in ks],
                               "oracle": tables[final][task]["oracle"],
                               "greedy": tables[final][task]["gen"]}
    return curves


def passk_table(curves: dict) -> str:
    if not curves:
        return "(no samples)"
    K = max(len(c["k"]) for c in curves.values())
    head = ["task", "greedy gen"] + [f"pass@{k}" for k in range(1, K + 1)] + [f"chance@{K}", "oracle"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for task, c in curves.items():
        lines.append("| " + " | ".join([task, _pct(c["greedy"])]
                                       + [f"{_pct(v)} ± {_pct(s)}" for v, s in zip(c["passk"], c["se"])]
                                       + [_pct(c["chance"][-1]), _pct(c["oracle"])]) + " |")
    return "\n".join(lines)


def write_report(out: Path, runs: list[dict]) -> dict:
    """Write report.md and plots/ under `out` for one run or several seeds."""
    entries = collect(runs)
    tables = {stage: {task: task_table(e) for task, e in ts.items()} for stage, ts in entries.items()}
    final = list(tables)[-1]
    curves = passk_curves(tables, entries)
    pdir = out / "plots"
    made = {"hit1": plots.plot_hit1(tables[final], pdir / "hit1.png"),
            "losses": plots.plot_losses([r["sft"]["metrics"] for r in runs], pdir / "losses.png"),
            "rl": plots.plot_rl([r["rl"]["metrics"] for r in runs], pdir / "rl.png"),
            "passk": plots.plot_passk(curves, pdir / "passk.png")}
    cfg = runs[0]["config"]
    seeds = [r["config"]["seed"] for r in runs]
    wall = sum(r["timings"]["wall_s"]["total"] for r in runs)
    cpu = sum(r["timings"]["cpu_s"]["total"] for r in runs)
    counts = runs[0]["data"]["manifest"]["counts"]
    main, verdict_lines = main_table(tables), verdict(tables, entries, runs)
    md = ["# umer1 demo report", "",
          f"A random tiny Qwen2-VL model (hidden {cfg['model']['hidden_size']}, {cfg['model']['num_layers']} "
          f"layers) trained from scratch on synthetic shapes: {cfg['sft']['steps']} SFT steps, then "
          f"{cfg['rl']['steps']} RL steps, evaluated on held-out scenes. Seed(s) {', '.join(map(str, seeds))}; "
          f"{counts['sft']} SFT pairs, {sum(counts['eval'].values())} held-out queries per seed. "
          f"Time: {wall / 60:.1f} min wall, {cpu / 60:.1f} min CPU ({cfg['threads']} torch thread).", "",
          "## Held-out Hit@1 (%)" + (" (mean ± sd over seeds)" if len(runs) > 1 else ""), "", main, "",
          "## Verdict", "", *verdict_lines, "",
          "## Decomposition of gen - disc (pooled queries)", "", decomposition(tables), "",
          "gen - disc = (gen - gold) + (gold - disc): the first part is lost by writing a wrong "
          "trace, the second is what the embedding read after a correct trace adds over disc.", "",
          "## RL", "", rl_summary(runs), "",
          f"## pass@k of the {final.upper()} model (± 1 s.e.; chance@k = 1 - (1 - chance)^k)", "",
          passk_table(curves), "", "## Plots", ""]
    md += [f"![{name}](plots/{file})" for name, file in made.items() if file]
    report = out / "report.md"
    with atomic_path(report) as tmp:
        tmp.write_text("\n".join(md) + "\n", encoding="utf-8")
    return {"markdown": str(report), "plots": {k: str(pdir / v) for k, v in made.items() if v},
            "table": main, "verdict": verdict_lines}
