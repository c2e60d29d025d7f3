"""Outputs of an evaluation: per-task score and prediction files, summaries, plots, warnings.

Layout under the output directory, per mode label (`disc`, `gen`, or `QUERY-CANDIDATE` such
as `gen-disc` for a cross-mode run of an aligned model):
  MODE/{Task}_score.json   every metric + num_pred, num_data, modes, model, prompt format, revision
  MODE/{Task}_pred.jsonl   per query: top-10 prediction, labels, relevances, scores
  MODE/summary.md, MODE/summary.json, MODE/leaderboard.json, MODE/scores.png
Scores are fractions in [0, 1] in JSON; the markdown shows them x 100.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from pathlib import Path
from typing import Sequence

import numpy as np

from umer1.eval.runner import TaskResult
from umer1.utils.files import atomic_path, write_json, write_jsonl
from umer1.utils.plots import bars_against_chance, png
from umer1.engine.prompts import PROMPT_FORMAT_VERSION

log = logging.getLogger(__name__)


def loud_chance_warning(r: TaskResult) -> str:
    """A banner that cannot be missed: chance-level scores mean a broken model or prompt."""
    msg = (f"TASK {r.spec.name} [{r.mode}] SCORES AT CHANCE: {r.spec.metric} = {r.main:.4f}, "
           f"chance = {r.chance:.4f} over {r.num_pred} queries. The commonest causes: a broken or "
           f"untrained checkpoint, a wrong prompt format, or gen mode without <gen_emb> in the output.")
    bar = "!" * 80
    log.warning("\n%s\n%s\n%s", bar, msg, bar)
    return msg


def score_record(r: TaskResult, meta: dict) -> dict:
    rec = dict(r.metrics)
    rec.update({
        "num_pred": r.num_pred, "num_data": r.num_data, "main_metric": r.spec.metric,
        "main_score": r.main if r.metrics else None, "mode": r.mode,
        "query_mode": r.query_mode, "candidate_mode": r.candidate_mode,
        "model": meta.get("model"), "prompt_format": meta.get("prompt_format", PROMPT_FORMAT_VERSION),
        "data_revision": r.revision, "modality": r.spec.modality, "meta_task": r.spec.meta_task,
        "ranking": r.ranking,
        "chance_level": r.chance, "at_chance": r.at_chance, "tied_top": r.tied_top,
        "seconds": round(r.seconds, 3),
    })
    if r.found_rate:
        rec["gen_emb_found_rate"] = r.found_rate
    if r.routing:
        rec["routing"] = r.routing
    for k in ("max_new_tokens",):
        if k in meta:
            rec[k] = meta[k]
    return rec


def write_task(out_dir: str | Path, r: TaskResult, meta: dict) -> None:
    out = Path(out_dir)
    write_json(out / f"{r.spec.name}_score.json", score_record(r, meta))
    d = r.data
    rows = []
    for i, (pred, sc) in enumerate(zip(r.predictions, r.scores)):
        lab = d.labels[i]
        rows.append({"query_id": d.query_ids[i],
                     "prediction": [d.candidate_ids[j] for j in pred],
                     "label": [d.candidate_ids[j] for j in lab],
                     "rel_scores": [lab[j] for j in lab] if d.graded else None,
                     "scores": [round(s, 6) for s in sc]})
    write_jsonl(out / f"{r.spec.name}_pred.jsonl", rows)


def aggregates(results: Sequence[TaskResult]) -> dict:
    """Plain means of the main metric per meta-task, per modality and over all tasks."""
    by_meta, by_mod = defaultdict(list), defaultdict(list)
    for r in results:
        by_meta[f"{r.spec.modality}/{r.spec.meta_task}"].append(r.main)
        by_mod[r.spec.modality].append(r.main)
    mean = lambda v: float(np.mean(v)) if v else None  # noqa: E731
    agg = {"meta_task": {k: mean(v) for k, v in by_meta.items()},
           "modality": {k: mean(v) for k, v in by_mod.items()},
           "overall": mean([r.main for r in results]),
           "num_tasks": {"overall": len(results), **{k: len(v) for k, v in by_mod.items()}}}
    routed = [r.routing for r in results if r.routing]
    if routed:
        agg["routing"] = routing_totals(routed)
    return agg


def routing_totals(costs: Sequence[dict]) -> dict:
    """A routed run's costs over its tasks, per query (the online side; the corpus is offline)."""
    n = sum(c["queries"] for c in costs)
    total = lambda k: sum(c[k] * c["queries"] for c in costs) / max(n, 1)  # noqa: E731
    return {"router": costs[0]["router"], "queries": n,
            "fraction_reasoned": sum(c["reasoned"] for c in costs) / max(n, 1),
            "generated_tokens": sum(c["generated_tokens"] for c in costs),
            "tokens_per_query": total("tokens_per_query"),
            "seconds_per_query": total("seconds_per_query")}


def leaderboard(results: Sequence[TaskResult], meta: dict) -> dict:
    metrics: dict = {}
    for r in results:
        metrics.setdefault(r.spec.modality, {})[r.spec.name] = dict(r.metrics)
    keys = ("model_name", "model_backbone", "model_size", "embedding_dimension",
            "max_length_tokens", "prompt_format", "query_mode", "candidate_mode", "umer1_version")
    return {"metadata": {k: meta.get(k) for k in keys}, "metrics": metrics}


def _pct(x) -> str:
    return "-" if x is None else f"{100 * x:.1f}"


def summary_markdown(results: Sequence[TaskResult], meta: dict, agg: dict) -> str:
    lines = [f"# Evaluation of {meta.get('model_name')} ({results[0].mode if results else ''})", ""]
    chance = [r for r in results if r.at_chance]
    if chance:
        lines += ["> **WARNING: tasks at chance level: " + ", ".join(r.spec.name for r in chance) +
                  ".** A broken checkpoint or prompt is the usual cause.", ""]
    lines += [f"Overall (mean over {agg['num_tasks']['overall']} tasks): **{_pct(agg['overall'])}**", "",
              "| modality | tasks | score |", "|---|---|---|"]
    lines += [f"| {m} | {agg['num_tasks'][m]} | {_pct(v)} |" for m, v in agg["modality"].items()]
    if "routing" in agg:
        c = agg["routing"]
        lines += ["", f"Router `{c['router']}`: reasoned for {100 * c['fraction_reasoned']:.1f}% of "
                  f"{c['queries']} queries, {c['tokens_per_query']:.1f} generated tokens and "
                  f"{1000 * c['seconds_per_query']:.1f} ms per query (the query side; the corpus is "
                  "embedded once, offline)."]
    lines += ["", "| meta-task | score |", "|---|---|"]
    lines += [f"| {m} | {_pct(v)} |" for m, v in agg["meta_task"].items()]
    lines += ["", "| task | modality | meta-task | metric | score | chance | queries | tied top |",
              "|---|---|---|---|---|---|---|---|"]
    for r in results:
        flag = " (AT CHANCE)" if r.at_chance else ""
        lines.append(f"| {r.spec.name} | {r.spec.modality} | {r.spec.meta_task} | {r.spec.metric} | "
                     f"{_pct(r.main)}{flag} | {_pct(r.chance)} | {r.num_pred}/{r.num_data} | "
                     f"{r.tied_top} |")
    lines += ["", f"Prompt format: `{meta.get('prompt_format')}`. Scores x 100. Tied top: queries "
              "whose best score several candidates share (ties rank against the gold)."]
    return "\n".join(lines) + "\n"


def plot_scores(results: Sequence[TaskResult], path: str | Path) -> None:
    names = [r.spec.name for r in results]
    with png(path, (max(6, 0.35 * len(names) + 2), 4)) as (fig, ax):
        bars_against_chance(ax, names, [r.main for r in results], [r.chance for r in results],
                            [r.at_chance for r in results])
        ax.set_ylabel("main metric x 100")
        ax.legend(loc="upper right")
        ax.set_title(f"{results[0].mode if results else ''} scores (red: at chance)")


def plot_passk(curves: dict[str, dict], path: str | Path) -> None:
    with png(path, (6, 4)) as (fig, ax):
        for name, cur in curves.items():
            ax.plot(cur["k"], [100 * v for v in cur["unbiased"]], marker="o", ms=3, label=name)
        ax.set_xscale("log", base=2)
        ax.set_xlabel("k (sampled generative embeddings per query)")
        ax.set_ylabel("pass@k x 100 (unbiased estimator)")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)


def write_summary(out_dir: str | Path, results: Sequence[TaskResult], meta: dict) -> dict:
    out = Path(out_dir)
    agg = aggregates(results)
    write_json(out / "summary.json", {"aggregates": agg, "meta": meta,
                                      "tasks": {r.spec.name: score_record(r, meta) for r in results}})
    write_json(out / "leaderboard.json", leaderboard(results, meta))
    with atomic_path(out / "summary.md") as tmp:
        tmp.write_text(summary_markdown(results, meta, agg), encoding="utf-8")
    if results:
        plot_scores(results, out / "scores.png")
    return agg
