"""The demo's report: a markdown page and four PNG plots, every number read from the run's files.

Scores come from the evaluation outputs (`{Task}_score.json`, `oracle.json`, `passk.json`),
curves from the trainers' `metrics.jsonl`. Nothing is typed in by hand.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from umer1.utils.files import atomic_path

COLUMNS = (("sft", "disc"), ("sft", "gen"), ("rl", "disc"), ("rl", "gen"))


def _json(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.is_file() else None


def collect(summary: dict) -> dict:
    """Per task: chance, queries, and the main score of each (model, mode), oracle and pass@k."""
    tasks: dict[str, dict] = {}
    for run, mode in COLUMNS:
        folder = Path(summary["eval"][run]["dir"]) / mode
        for f in sorted(folder.glob("*_score.json")):
            rec = json.loads(f.read_text())
            name = f.name[:-len("_score.json")]
            t = tasks.setdefault(name, {"chance": rec["chance_level"], "queries": rec["num_pred"]})
            t[f"{run}_{mode}"] = rec["main_score"]
            if "gen_emb_found_rate" in rec:
                t[f"{run}_{mode}_found"] = rec["gen_emb_found_rate"].get("queries")
                t[f"{run}_{mode}_found_candidates"] = rec["gen_emb_found_rate"].get("candidates")
    for run in ("sft", "rl"):
        oracle = _json(Path(summary["eval"][run]["dir"]) / "oracle.json") or {}
        for name, v in oracle.get("tasks", {}).items():
            tasks[name][f"{run}_oracle"] = v
    passk = _json(Path(summary["eval"]["rl"]["dir"]) / "passk" / "passk.json")
    if passk:
        for name, curve in passk["tasks"].items():
            tasks[name]["passk"] = curve["unbiased"]
    return {"tasks": tasks, "passk": passk}


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return sum(values) / len(values) if values else None


def above_chance(tasks: dict, key: str) -> tuple[float, float, float]:
    """(score, chance, z) pooled over every query of every task: z counts binomial standard
    errors between the hits observed and the hits a random ranking would get."""
    hits = exp = var = n = 0.0
    for t in tasks.values():
        if t.get(key) is None:
            continue
        q, p = t["queries"], t["chance"]
        hits, exp, var, n = hits + t[key] * q, exp + p * q, var + p * (1 - p) * q, n + q
    if not n:
        return 0.0, 0.0, 0.0
    return hits / n, exp / n, (hits - exp) / math.sqrt(var) if var else 0.0


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def table(data: dict, k: int) -> str:
    tasks = data["tasks"]
    head = ["task", "chance", "SFT disc", "SFT gen", "RL disc", "RL gen", "RL oracle"]
    keys = ["sft_disc", "sft_gen", "rl_disc", "rl_gen", "rl_oracle"]
    if k > 1:
        head.append(f"RL gen pass@{k}")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    rows = list(tasks.items()) + [("**mean**", {
        "chance": _mean(t["chance"] for t in tasks.values()),
        **{key: _mean(t.get(key) for t in tasks.values()) for key in keys},
        "passk": [_mean(t["passk"][k - 1] for t in tasks.values() if "passk" in t)] * k
        if any("passk" in t for t in tasks.values()) else None})]
    for name, t in rows:
        cells = [name, _pct(t["chance"])] + [_pct(t.get(key)) for key in keys]
        if k > 1:
            cells.append(_pct(t["passk"][k - 1]) if t.get("passk") else "-")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def verdict(data: dict) -> list[str]:
    tasks = data["tasks"]
    score, chance, z = above_chance(tasks, "rl_gen")
    clear = z >= 3
    lines = [f"- Held-out gen-mode Hit@1 of the final (RL) model: **{_pct(score)}** against a "
             f"chance level of {_pct(chance)} (pooled over every query): {z:.1f} standard errors "
             + ("above chance: **clearly above chance**." if clear else
                "from chance: **not clearly above chance** (3 standard errors are needed); "
                "a longer run (`--minutes`) trains more steps.")]
    sft, _, _ = above_chance(tasks, "sft_gen")
    n = sum(t["queries"] for t in tasks.values())
    # The two models answer the same queries: the difference's standard error is about
    # sqrt(2) times one score's; two of them separate a change from noise.
    p = (sft + score) / 2
    noise = 2 * math.sqrt(2 * max(p * (1 - p), 1e-9) / max(n, 1))
    diff = score - sft
    if abs(diff) < 1e-12:
        lines.append(f"- RL did **not** change the gen-mode Hit@1 over SFT in this run "
                     f"({_pct(sft)} both).")
    else:
        word = "improved on" if diff > 0 else "did **not** improve on"
        real = ("more than" if abs(diff) > noise else "within")
        lines.append(f"- RL {word} SFT in this run: gen-mode Hit@1 {_pct(sft)} after SFT, "
                     f"{_pct(score)} after RL, **{100 * diff:+.1f} points**, {real} the noise of "
                     f"{100 * noise:.1f} points (two standard errors of the difference over "
                     f"{n} queries).")
    for run in ("sft", "rl"):
        q = _mean(t.get(f"{run}_gen_found") for t in tasks.values())
        c = _mean(t.get(f"{run}_gen_found_candidates") for t in tasks.values())
        if q is not None:
            lines.append(f"- {run.upper()} model: {_pct(q)}% of the greedy query generations and "
                         f"{_pct(c)}% of the candidate generations wrote `<gen_emb>` themselves "
                         f"(the rest had it forced at the token budget).")
    disc, _, _ = above_chance(tasks, "rl_disc")
    oracle = _mean(t.get("rl_oracle") for t in tasks.values())
    lines.append(f"- Disc-mode Hit@1 of the final model: {_pct(disc)}; the disc-or-gen oracle: "
                 f"{_pct(oracle)} (mean over tasks).")
    return lines


# ----- plots ------------------------------------------------------------------------------------
def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _save(fig, path: Path) -> str:
    plt = _plt()
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)
    return path.name


def _rows(path: str | None) -> list[dict]:
    from umer1.utils.plots import read_metrics
    return read_metrics(path) if path and Path(path).is_file() else []


def plot_losses(metrics: str, path: Path) -> str:
    plt = _plt()
    rows = _rows(metrics)
    fig, ax = plt.subplots(figsize=(7, 4))
    for term in ("loss", "con_gen", "con_disc", "ntp_query", "ntp_target"):
        pts = [(r["step"], r[term]) for r in rows if r.get(term) is not None]
        if pts:
            ax.plot(*zip(*pts), label=term, linewidth=2 if term == "loss" else 1)
    ax.set(xlabel="SFT step", ylabel="loss", title="SFT loss terms")
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, path)


def plot_reward(metrics: str, path: Path) -> str:
    plt = _plt()
    rows = _rows(metrics)
    fig, ax = plt.subplots(figsize=(7, 4))
    for key in ("reward", "format_rate", "reward_emb"):
        pts = [(r["step"], r[key]) for r in rows if r.get(key) is not None]
        if pts:
            ax.plot(*zip(*pts), marker="o" if len(pts) < 30 else None, label=key)
    ax.set(xlabel="RL step", ylabel="mean over rollouts", title="RL reward (format + rank x gap)")
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, path)


def plot_hit1(data: dict, path: Path) -> str:
    plt = _plt()
    tasks = data["tasks"]
    names = list(tasks)
    keys = [("sft_disc", "SFT disc"), ("sft_gen", "SFT gen"), ("rl_disc", "RL disc"),
            ("rl_gen", "RL gen"), ("rl_oracle", "RL oracle")]
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.8 / len(keys)
    for i, (key, label) in enumerate(keys):
        ax.bar([x + i * width for x in range(len(names))],
               [100 * (tasks[n].get(key) or 0) for n in names], width, label=label)
    for x, n in enumerate(names):
        ax.hlines(100 * tasks[n]["chance"], x - width / 2, x + 0.8 - width / 2, colors="black",
                  linestyles="dashed", label="chance" if x == 0 else None)
    ax.set_xticks([x + 0.4 - width / 2 for x in range(len(names))], names)
    ax.set(ylabel="Hit@1 (%)", title="Held-out Hit@1 per task and mode")
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_passk(data: dict, path: Path) -> str | None:
    passk = data["passk"]
    if not passk:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    for name, curve in passk["tasks"].items():
        ax.plot(curve["k"], [100 * v for v in curve["unbiased"]], alpha=0.5, label=name)
    ax.plot(passk["k"], [100 * v for v in passk["mean"]["unbiased"]], color="black", linewidth=2,
            label="mean")
    chance = _mean(t["chance"] for t in data["tasks"].values())
    ax.axhline(100 * chance, color="gray", linestyle="dashed", label="chance (k = 1)")
    ax.set(xlabel="k (sampled gen embeddings per query)", ylabel="pass@k (%)",
           title="Inference-time scaling of the RL model")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def write_report(out: Path, summary: dict) -> dict:
    """Write report.md and the plots under `out`; returns paths and the summary table."""
    data = collect(summary)
    k = summary["config"]["eval"]["num_samples"]
    plots = out / "plots"
    made = {"losses": plot_losses(summary["sft"]["metrics"], plots / "losses.png"),
            "reward": plot_reward(summary["rl"]["metrics"], plots / "reward.png"),
            "hit1": plot_hit1(data, plots / "hit1.png"),
            "passk": plot_passk(data, plots / "passk.png")}
    tm, d = summary["timings"], summary["data"]
    counts = d["manifest"]["counts"]
    md = ["# umer1 demo report", "",
          f"A random tiny Qwen2-VL model (compact vocabulary) trained from scratch on synthetic shapes "
          f"data: SFT then RL, then evaluated on held-out scenes (seed {summary['config']['seed']}).", "",
          f"- Time: {tm['total'] / 60:.1f} min of a {summary['budget_s'] / 60:.1f} min budget "
          f"(setup {tm['setup']:.0f} s, SFT {tm['sft']:.0f} s for {summary['sft']['steps']} steps, "
          f"RL {tm['rl']:.0f} s for {summary['rl']['steps']} steps, evaluation {tm['eval']:.0f} s).",
          f"- Data: {counts['sft']} SFT pairs, {counts['rl']} RL pairs, "
          f"{sum(counts['eval'].values())} held-out queries over {len(counts['eval'])} tasks "
          f"(local ranking among {d['candidates']} candidates or fewer).", "",
          "## Held-out Hit@1 (%), chance beside each task", "", table(data, k), "",
          "## Verdict", "", *verdict(data), "", "## Plots", ""]
    md += [f"![{name}](plots/{file})" for name, file in made.items() if file]
    md += ["", "Outputs: `sft/` and `rl/` (models, metrics.jsonl), `eval/sft`, `eval/rl` (scores, "
           "predictions, summaries), `data/` (the dataset), `demo_summary.json`."]
    report = out / "report.md"
    with atomic_path(report) as tmp:
        tmp.write_text("\n".join(md) + "\n", encoding="utf-8")
    return {"markdown": str(report), "plots": {k: str(plots / v) for k, v in made.items() if v},
            "table": table(data, k), "verdict": verdict(data)}
