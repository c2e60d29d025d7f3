"""`umer1 demo`: the whole UME-R1 method on a CPU in minutes, with no download, reproducibly.

Stages, each through the library function its CLI verb uses:
  1. synthetic shapes data (`umer1.experiments.synthetic`): perception tasks and reasoning tasks,
  2. a random tiny Qwen2-VL model with a compact vocabulary (`umer1.engine.tiny`),
  3. SFT (`umer1.train.sft.run`), 4. RL from the SFT model (`umer1.train.rl.run`, which stops
     with a message when no group of rollouts has reward spread),
  5. evaluation of both models per query (`demo_eval`: disc, gen, gen after the gold trace,
     facts stated, pass@k), 6. a report (`demo_report`).
Every size is a fixed count (steps, pairs, queries) and every random choice takes the seed, so
the same command gives the same table on any machine (up to float noise). A finished stage
leaves a marker with its settings; a rerun with the same settings skips it, so a killed demo
resumes stage-wise. `run_seeds` repeats the demo over several seeds and reports means.
The two functions that build trainer configs (`sft_config`, `rl_config`) are the only places
that know the trainers' config fields.
"""
from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from umer1.utils.config import from_dict, save_resolved, to_dict
from umer1.utils.errors import InputError
from umer1.utils.files import write_json

log = logging.getLogger(__name__)


@dataclass
class DemoData:
    train: int = 32768           # SFT pairs (about one pass at the default steps: fresh scenes generalise)
    rl: int = 256                # RL pairs (scenes not used by SFT)
    eval: int = 256              # held-out queries per task
    candidates: int = 8          # per query (fewer where a task has fewer possible answers)
    tasks: list[str] = field(default_factory=lambda: ["cls", "count", "match"])
    group: int = 4               # SFT rows of one task with distinct targets, in a row


@dataclass
class DemoModel:
    hidden_size: int = 64
    num_layers: int = 2
    num_heads: int = 4
    num_kv_heads: int = 2
    vision_depth: int = 2
    vision_dim: int = 64         # the random vision tower must learn shapes and colours
    vocabulary_sample: int = 400  # SFT pairs whose text trains the compact vocabulary
    # Trained from scratch, so no blank image is needed on text-only sides (fewer visual tokens).
    blank_image_for_text: bool = False


@dataclass
class DemoSFT:
    steps: int = 2500
    batch_size: int = 16
    lr: float = 1.0e-3
    warmup_steps: int = 20
    ntp_query: float = 2.0       # weight of the query side's next-token loss (gen lives on it)
    freeze_vision: bool = False  # the tiny vision tower is random: let it learn


@dataclass
class DemoRL:
    steps: int = 60
    probe_steps: int = 3         # stop when every group of these steps had one reward
    pairs_per_step: int = 4
    num_generations: int = 4
    # Above 1: after SFT the tiny model's samples at temperature 1 are nearly all the same
    # text, so every group's rewards tie and GRPO has nothing to compare.
    temperature: float = 1.5
    max_completion_length: int = 80
    lr: float = 1.0e-4
    beta: float = 0.04


@dataclass
class DemoEval:
    max_new_tokens: int = 80     # the longest gold trace is about 70 tokens
    batch_size: int = 16
    num_samples: int = 4         # pass@k up to this k (final model)
    temperature: float = 1.5     # as RL's rollouts: at 1 the samples are nearly all alike


@dataclass
class DemoConfig:
    seed: int = 0
    # torch threads. One: the tiny model's matrices gain little from more, and on a shared
    # machine a second thread that waits for a busy core slows every step.
    threads: int = 1
    data: DemoData = field(default_factory=DemoData)
    model: DemoModel = field(default_factory=DemoModel)
    sft: DemoSFT = field(default_factory=DemoSFT)
    rl: DemoRL = field(default_factory=DemoRL)
    eval: DemoEval = field(default_factory=DemoEval)

    def check(self) -> None:
        from umer1.experiments.synthetic.registry import TASKS
        for key, value, low in (("sft.steps", self.sft.steps, 1), ("rl.steps", self.rl.steps, 0),
                                ("data.train", self.data.train, self.sft.batch_size),
                                ("data.eval", self.data.eval, 2), ("threads", self.threads, 1)):
            if value < low:
                raise InputError(f"must be at least {low}", field=key)
        unknown = [t for t in self.data.tasks if t not in TASKS]
        if unknown or not self.data.tasks:
            raise InputError(f"unknown task(s) {', '.join(unknown) or '(none given)'}; expected some "
                             f"of {', '.join(TASKS)}", field="data.tasks")


class Stages:
    """Completed-stage markers: a stage reruns unless its marker holds the same settings."""

    def __init__(self, out: Path):
        self.dir = out / ".stages"

    def done(self, name: str, settings: dict) -> dict | None:
        p = self.dir / f"{name}.json"
        if p.is_file():
            rec = json.loads(p.read_text())
            if rec.get("settings") == settings:
                return rec.get("result")
        return None

    def mark(self, name: str, settings: dict, result: dict) -> None:
        write_json(self.dir / f"{name}.json", {"settings": settings, "result": result})


class Timer:
    """Wall and CPU seconds per stage: CPU time is what one idle core would need, so a busy
    machine's contention shows as the gap between the two."""

    def __init__(self):
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    def run(self, name: str, fn, *args):
        w, c = time.perf_counter(), time.process_time()
        result = fn(*args)
        self.wall[name] = time.perf_counter() - w
        self.cpu[name] = time.process_time() - c
        return result

    def summary(self) -> dict:
        return {"wall_s": {**self.wall, "total": sum(self.wall.values())},
                "cpu_s": {**self.cpu, "total": sum(self.cpu.values())}}


def run_demo(out_dir: str | Path, cfg: DemoConfig | None = None) -> dict:
    """Run every stage of one seed into `out_dir`; returns the summary the report is made from."""
    cfg = cfg or DemoConfig()
    cfg.check()
    import torch
    torch.set_num_threads(cfg.threads)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_resolved(cfg, out, "demo_config.yaml")
    stages, timer = Stages(out), Timer()
    data = timer.run("data", _data_stage, out, cfg, stages)
    base = timer.run("model", _model_stage, out, cfg, stages, data)
    sft = timer.run("sft", _sft_stage, out, cfg, stages, data, base)
    rl = timer.run("rl", _rl_stage, out, cfg, stages, data, sft)
    evals = timer.run("eval", _eval_stage, out, cfg, stages, data, sft, rl)

    from umer1.experiments.demo_report import write_report
    summary = {"config": to_dict(cfg), "timings": timer.summary(), "data": data, "sft": sft,
               "rl": rl, "eval": evals, "out_dir": str(out)}
    summary["report"] = write_report(out, [summary])
    write_json(out / "demo_summary.json", summary)
    return summary


def run_seeds(out_dir: str | Path, cfg: DemoConfig | None = None, seeds: int = 1) -> dict:
    """`seeds` demos (seed, seed + 1, ...) under OUT/seed-S, and one report over all of them."""
    cfg = cfg or DemoConfig()
    if seeds < 1:
        raise InputError("must be at least 1", field="--seeds")
    if seeds == 1:
        return run_demo(out_dir, cfg)
    out = Path(out_dir)
    runs = [run_demo(out / f"seed-{s}", replace(cfg, seed=s)) for s in range(cfg.seed, cfg.seed + seeds)]
    from umer1.experiments.demo_report import write_report
    summary = {"config": to_dict(cfg), "seeds": [r["config"]["seed"] for r in runs],
               "runs": [r["out_dir"] for r in runs], "out_dir": str(out),
               "timings": {"wall_s": {"total": sum(r["timings"]["wall_s"]["total"] for r in runs)},
                           "cpu_s": {"total": sum(r["timings"]["cpu_s"]["total"] for r in runs)}}}
    summary["report"] = write_report(out, runs)
    write_json(out / "demo_summary.json", summary)
    return summary


# ----- stages ---------------------------------------------------------------------------------
def _data_stage(out: Path, cfg: DemoConfig, stages: Stages) -> dict:
    from umer1.experiments.synthetic import generate_dataset
    d = cfg.data
    sizes = {"seed": cfg.seed, "train": d.train, "rl": d.rl, "eval": d.eval,
             "candidates": d.candidates, "group": d.group}
    settings = {**sizes, "tasks": list(d.tasks)}
    done = stages.done("data", settings)
    if done:
        return done
    paths = generate_dataset(out / "data", overwrite=True, tasks=tuple(d.tasks), **sizes)
    result = {**settings, "sft": str(paths.sft), "rl_file": str(paths.rl), "tasks_file": str(paths.tasks),
              "manifest": json.loads(paths.manifest.read_text())}
    stages.mark("data", settings, result)
    return result


def _model_stage(out: Path, cfg: DemoConfig, stages: Stages, data: dict) -> str:
    from umer1.engine.settings import EmbeddingSettings
    from umer1.engine.tiny import make_tiny_model
    settings = {"seed": cfg.seed, **to_dict(cfg.model), "data": data["sft"]}
    if stages.done("model", settings):
        return str(out / "base")
    from umer1.data.sft import conversation_texts
    # The compact vocabulary learns its merges from the training text (never the held-out split).
    corpus = conversation_texts(data["sft"], cfg.model.vocabulary_sample)
    m = cfg.model
    emb = EmbeddingSettings(max_pixels=256 * 28 * 28, video_max_pixels=16 * 28 * 28,
                            blank_image_for_text=m.blank_image_for_text)
    make_tiny_model(out / "base", seed=cfg.seed, hidden_size=m.hidden_size, num_layers=m.num_layers,
                    num_heads=m.num_heads, num_kv_heads=m.num_kv_heads, vision_depth=m.vision_depth,
                    vision_dim=m.vision_dim, extra_corpus=corpus, settings=emb)
    stages.mark("model", settings, {"path": str(out / "base")})
    return str(out / "base")


def sft_config(cfg: DemoConfig, data: dict, base: str, out: Path):
    """The SFT trainer's config for the demo (the one place that names its fields)."""
    from umer1.train.sft import SFTConfig
    s = cfg.sft
    # File order: the writer put rows of one task with distinct targets in runs of
    # `data.group`, so a batch holds no duplicate targets (false negatives) where avoidable.
    return from_dict(SFTConfig, {
        "model": {"base": base, "freeze_vision": s.freeze_vision},
        "data": {"train_file": data["sft"], "batch_size": s.batch_size, "order": "file",
                 "group_size": cfg.data.group},
        "loss": {"ntp_query": s.ntp_query},
        "optim": {"lr": s.lr, "warmup_ratio": min(1.0, s.warmup_steps / s.steps), "schedule": "constant"},
        "train": {"output_dir": str(out), "steps": s.steps, "seed": cfg.seed, "progress_bar": True,
                  "plot": False, "log_every": 1, "save_every": max(1, s.steps // 4), "keep_last": 1}})


def _sft_stage(out: Path, cfg: DemoConfig, stages: Stages, data: dict, base: str) -> dict:
    from umer1.train.sft import run as train
    settings = {"sft": to_dict(cfg.sft), "base": base, "data": data["sft"], "group": cfg.data.group}
    done = stages.done("sft", settings)
    if done:
        return done
    run = out / "sft"
    # A run cut in the middle resumes from its last checkpoint (same settings, same data order).
    summary = train(sft_config(cfg, data, base, run), resume=run.exists())
    result = {"steps": summary["steps"], "model": summary["final_model"],
              "metrics": str(run / "metrics.jsonl")}
    stages.mark("sft", settings, result)
    return result


def rl_config(cfg: DemoConfig, data: dict, model: str, out: Path):
    """The RL trainer's config for the demo (the one place that names its fields)."""
    from umer1.train.rl import RLConfig
    r = cfg.rl
    return from_dict(RLConfig, {
        "model": {"base": model, "freeze_vision": cfg.sft.freeze_vision},
        "data": {"train_file": data["rl_file"], "pairs_per_device": r.pairs_per_step},
        "rollout": {"num_generations": r.num_generations, "temperature": r.temperature,
                    "max_completion_length": r.max_completion_length},
        "grpo": {"beta": r.beta, "stop_without_signal": r.probe_steps},
        "optim": {"lr": r.lr, "warmup_ratio": 0.0, "schedule": "constant"},
        "train": {"output_dir": str(out), "steps": r.steps,
                  "seed": cfg.seed, "save_every": max(1, r.steps // 4), "keep_last": 1, "cpu": True,
                  "plot": False}})


def _rl_stage(out: Path, cfg: DemoConfig, stages: Stages, data: dict, sft: dict) -> dict:
    from umer1.train.rl import run as train_rl
    from umer1.train.rl.signal import NoLearningSignal
    settings = {"rl": to_dict(cfg.rl), "sft": sft["model"], "data": data["rl_file"]}
    done = stages.done("rl", settings)
    if done:
        return done
    run = out / "rl"
    result = {"steps": 0, "model": None, "metrics": str(run / "metrics.jsonl"), "stopped": None}
    if cfg.rl.steps:
        try:   # the trainer resumes from the run's latest checkpoint
            summary = train_rl(rl_config(cfg, data, sft["model"], run), resume=run.exists())
            result.update(steps=cfg.rl.steps, model=summary["final_model"])
        except NoLearningSignal as stop:
            log.warning("%s", stop.message)
            result.update(stopped=stop.message, steps=stop.steps)
    stages.mark("rl", settings, result)
    return result


def _eval_stage(out: Path, cfg: DemoConfig, stages: Stages, data: dict, sft: dict, rl: dict) -> dict:
    from umer1.experiments.demo_eval import EvalSettings, evaluate_model
    e = cfg.eval
    models = [("sft", sft["model"])] + ([("rl", rl["model"])] if rl.get("model") else [])
    results = {}
    for i, (name, model_dir) in enumerate(models):
        k = e.num_samples if i == len(models) - 1 else 1   # pass@k for the final model
        settings = {"eval": to_dict(e), "model": model_dir, "tasks": data["tasks_file"], "k": k}
        done = stages.done(f"eval-{name}", settings)
        if done:
            results[name] = done
            continue
        target = out / "eval" / name
        shutil.rmtree(target, ignore_errors=True)
        opts = EvalSettings(max_new_tokens=e.max_new_tokens, batch_size=e.batch_size, num_samples=k,
                            temperature=e.temperature, seed=cfg.seed)
        results[name] = evaluate_model(model_dir, data["tasks_file"], target, opts)
        stages.mark(f"eval-{name}", settings, results[name])
    return results
