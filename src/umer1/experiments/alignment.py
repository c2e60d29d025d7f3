"""Asymmetric retrieval: reason on the query side only, against a corpus embedded in disc mode.

UME-R1's two spaces are trained separately, so a gen-mode query means nothing against a
disc-mode corpus. The SFT cross-mode terms InfoNCE(gen_q, disc_t) and InfoNCE(disc_q, gen_t)
(`loss.con_genq_disct`, `loss.con_discq_gent`) align them; a model trained with them is saved
with `spaces_aligned: true`, which the evaluation harness, the index and the server check before
they mix modes.

`run_study` measures it on the synthetic data: the same tiny model trained twice, with and
without the cross-mode terms (same data, seed and steps), each evaluated gen/gen, disc/disc and
gen-query/disc-corpus on the held-out split, plus what embedding the corpus costs in each mode.
The reference model's cross-mode score is measured by lifting its guard for this measurement
only (it is what a user would get by mixing modes anyway).
"""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from umer1.utils.config import from_dict
from umer1.utils.files import atomic_path, write_json

log = logging.getLogger(__name__)

SETUPS = (("gen", "gen"), ("disc", "disc"), ("gen", "disc"))


@dataclass
class StudyConfig:
    seed: int = 0
    tasks: tuple[str, ...] = ("t2i", "i2t", "cls", "vqa")   # synthetic task kinds
    train: int = 4096              # SFT pairs
    eval: int = 48                 # held-out queries per task
    candidates: int = 8
    steps: int = 800               # SFT steps, the same for both models
    batch_size: int = 16
    lr: float = 2.0e-3
    cross_weight: float = 1.0      # weight of each cross-mode term in the aligned model
    hidden_size: int = 64
    num_layers: int = 2
    vision_dim: int = 64
    max_new_tokens: int = 64       # generation budget at evaluation
    cost_items: int = 16           # corpus items timed for the embedding-cost figures
    threads: int = 1               # torch threads (0 = torch's default); one is fastest for tiny models


def label(setup: tuple[str, str]) -> str:
    q, c = setup
    return q if q == c else f"{q}-{c}"


def run_study(out_dir: str | Path, cfg: StudyConfig | None = None) -> dict:
    """Train both models, evaluate every setup, write results.json and report.md; return results."""
    from umer1.experiments.synthetic import generate_dataset
    cfg = cfg or StudyConfig()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = Path(out_dir)
    t0 = time.perf_counter()
    paths = generate_dataset(out / "data", seed=cfg.seed, train=cfg.train, rl=0, eval=cfg.eval,
                             candidates=cfg.candidates, tasks=tuple(cfg.tasks), overwrite=True)
    manifest = json.loads(paths.manifest.read_text())
    base = make_base_model(out / "base", paths.sft, cfg)
    results: dict = {"config": {**vars(cfg), "tasks": list(cfg.tasks)}, "chance": manifest["chance_hit@1"], "models": {}}
    for name, weight in (("reference", 0.0), ("aligned", cfg.cross_weight)):
        model_dir = train_variant(out / name, base, paths.sft, weight, cfg)
        results["models"][name] = _evaluate(model_dir, paths.tasks, out / "eval" / name, cfg)
        results["models"][name]["cross_weight"] = weight
        results["models"][name]["train_margin"] = cross_mode_margin(model_dir, paths.sft)
    results["chance_mean"] = float(np.mean(list(manifest["chance_hit@1"].values())))
    results["seconds"] = round(time.perf_counter() - t0, 1)
    write_json(out / "results.json", results)
    with atomic_path(out / "report.md") as tmp:
        tmp.write_text(report_markdown(results), encoding="utf-8")
    return results


def make_base_model(path: Path, sft_file: Path, cfg: StudyConfig) -> Path:
    from umer1.data.sft import conversation_texts
    from umer1.engine.tiny import make_tiny_model
    # the compact vocabulary learns its merges from the training text only
    return make_tiny_model(path, seed=cfg.seed, hidden_size=cfg.hidden_size, num_layers=cfg.num_layers,
                           vision_dim=cfg.vision_dim, extra_corpus=conversation_texts(sft_file, 200))


def train_variant(out: Path, base: Path, sft_file: Path, weight: float, cfg: StudyConfig) -> Path:
    from umer1.train.sft import SFTConfig, run
    sft = from_dict(SFTConfig, {
        "model": {"base": str(base), "freeze_vision": False},
        "data": {"train_file": str(sft_file), "batch_size": cfg.batch_size, "order": "shuffle"},
        "loss": {"con_genq_disct": weight, "con_discq_gent": weight},
        "optim": {"lr": cfg.lr, "warmup_ratio": 0.05},
        "train": {"output_dir": str(out), "steps": cfg.steps, "seed": cfg.seed, "progress_bar": False,
                  "plot": False, "save_every": 0, "keep_last": 1}})
    return Path(run(sft, overwrite=True)["final_model"])  # a rerun of the study trains anew


def _evaluate(model_dir: Path, tasks_file: Path, out: Path, cfg: StudyConfig) -> dict:
    from umer1.eval.suite import EvalOptions, evaluate
    from umer1.eval import load_task, resolve_tasks
    from umer1.engine.model import UMEModel
    from umer1.engine.settings import EmbeddingSettings
    trained_aligned = EmbeddingSettings.load(model_dir).spaces_aligned
    # The guard is lifted for the measurement only: the saved model keeps its own setting.
    model = UMEModel.from_pretrained(model_dir, spaces_aligned=True)
    specs, root = resolve_tasks(tasks_file)
    scores = {}
    for setup in SETUPS:
        opts = EvalOptions(query_mode=setup[0], candidate_mode=setup[1], batch_size=16,
                           max_new_tokens=cfg.max_new_tokens, cache_dir=out / "cache",
                           show_progress=False, seed=cfg.seed)
        lab = label(setup)
        summary = evaluate(model, specs, root, out / lab, opts)
        tasks = json.loads((out / lab / lab / "summary.json").read_text())["tasks"]  # per-task records
        scores[lab] = {"mean_hit@1": summary["modes"][lab]["overall"],
                       "tasks": {k: v.get("hit@1") for k, v in tasks.items()}}
    corpus = [c for spec in specs for c in load_task(spec, root).candidates][:cfg.cost_items]
    return {"saved_spaces_aligned": trained_aligned, "scores": scores, "cost": _corpus_cost(model, corpus, cfg)}


@torch.no_grad()
def cross_mode_margin(model_dir: str | Path, sft_file: str | Path, pairs: int = 16) -> dict:
    """How well a model's gen queries find their disc targets, without any generation.

    Over `pairs` SFT pairs, teacher-forced as in training: the mean cosine of each gen query
    with its own disc target minus the mean cosine with the other targets (and the same
    margin within gen and within disc, for comparison). A model whose spaces are not aligned
    has a cross-mode margin near 0.
    """
    from umer1.data.sft import read_sft
    from umer1.engine.forward import TeacherForced
    from umer1.engine.model import UMEModel
    from umer1.train.sft.collate import SFTCollator
    from umer1.train.sft.step import embed
    m = UMEModel.from_pretrained(model_dir)
    batch = SFTCollator(m.processor, m.settings, gen_id=m.ids.gen, disc_id=m.ids.disc)(
        read_sft(sft_file)[:pairs])
    disc, gen, _ = embed(TeacherForced(m.model), batch.side)
    n = len(batch)

    def margin(q, t):
        sim = q @ t.T
        off = (sim.sum() - sim.diagonal().sum()) / (n * n - n)
        return float(sim.diagonal().mean() - off)
    return {"gen_q-disc_t": margin(gen[:n], disc[n:]), "gen": margin(gen[:n], gen[n:]),
            "disc": margin(disc[:n], disc[n:]), "pairs": n}


def _corpus_cost(model, corpus, cfg: StudyConfig) -> dict:
    """What embedding one corpus item costs in each mode: generated tokens and seconds."""
    t = time.perf_counter()
    g = model.generate(corpus, batch_size=16, max_new_tokens=cfg.max_new_tokens)
    gen_s = time.perf_counter() - t
    t = time.perf_counter()
    model.encode(corpus, mode="disc", batch_size=16)
    disc_s = time.perf_counter() - t
    n = len(corpus)
    return {"items": n, "gen_tokens_per_item": float(np.mean(g.num_tokens)),
            "disc_tokens_per_item": 0.0, "gen_seconds_per_item": gen_s / n,
            "disc_seconds_per_item": disc_s / n, "gen_over_disc_time": gen_s / max(disc_s, 1e-9)}


def report_markdown(r: dict) -> str:
    ref, ali = r["models"]["reference"]["scores"], r["models"]["aligned"]["scores"]
    cost = r["models"]["aligned"]["cost"]
    pct = lambda x: f"{100 * x:.1f}"  # noqa: E731
    lines = [
        "# Asymmetric retrieval: gen-mode queries against a disc-mode corpus", "",
        f"Two tiny models trained on the same synthetic data ({r['config']['train']} pairs, "
        f"{r['config']['steps']} SFT steps, seed {r['config']['seed']}): the reference recipe, and the "
        f"same with the cross-mode terms InfoNCE(gen_q, disc_t) + InfoNCE(disc_q, gen_t) at weight "
        f"{r['config']['cross_weight']}. Held-out Hit@1 (%), mean over the tasks; chance "
        f"{pct(r['chance_mean'])}.", "",
        "| setup (query / corpus) | reference | with cross-mode terms | corpus cost per item |",
        "|---|---|---|---|"]
    for setup in SETUPS:
        lab = label(setup)
        c = (f"{cost['gen_tokens_per_item']:.0f} generated tokens, {1000 * cost['gen_seconds_per_item']:.0f} ms"
             if setup[1] == "gen" else f"one forward pass, {1000 * cost['disc_seconds_per_item']:.0f} ms")
        lines.append(f"| {setup[0]} / {setup[1]} | {pct(ref[lab]['mean_hit@1'])} | "
                     f"{pct(ali[lab]['mean_hit@1'])} | {c} |")
    d_cross = ali["gen-disc"]["mean_hit@1"] - ref["gen-disc"]["mean_hit@1"]
    d_gen = ali["gen"]["mean_hit@1"] - ref["gen"]["mean_hit@1"]
    d_disc = ali["disc"]["mean_hit@1"] - ref["disc"]["mean_hit@1"]
    mr, ma = r["models"]["reference"]["train_margin"], r["models"]["aligned"]["train_margin"]
    lines += ["", "## What this run says", "",
              f"- Gen-query / disc-corpus Hit@1 with the cross-mode terms: "
              f"{pct(ref['gen-disc']['mean_hit@1'])} -> {pct(ali['gen-disc']['mean_hit@1'])} "
              f"({100 * d_cross:+.1f} points; chance {pct(r['chance_mean'])}).",
              f"- Teacher-forced on training pairs (no generation), the cosine margin of a gen query "
              f"over other disc targets for its own disc target: {mr['gen_q-disc_t']:.3f} (reference) vs "
              f"{ma['gen_q-disc_t']:.3f} (aligned); same-mode margins gen {mr['gen']:.3f} vs "
              f"{ma['gen']:.3f}, disc {mr['disc']:.3f} vs {ma['disc']:.3f}.",
              f"- Same-mode quality with alignment: gen/gen {100 * d_gen:+.1f} points, disc/disc "
              f"{100 * d_disc:+.1f} points against the reference "
              f"({'a cost' if min(d_gen, d_disc) < 0 else 'no cost'} in this run; a few points either "
              f"way are within the noise of {sum(1 for _ in r['chance'])} tasks x "
              f"{r['config']['eval']} queries).",
              f"- Embedding the corpus in gen mode cost {cost['gen_tokens_per_item']:.0f} generated "
              f"tokens and {cost['gen_over_disc_time']:.1f}x the time of disc mode per item.",
              f"- Saved `spaces_aligned`: reference {r['models']['reference']['saved_spaces_aligned']}, "
              f"aligned {r['models']['aligned']['saved_spaces_aligned']}.",
              "", f"Total time: {r['seconds']:.0f} s."]
    return "\n".join(lines) + "\n"
