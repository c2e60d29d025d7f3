"""`umer1 demo`: the whole UME-R1 method on a CPU in minutes, with no download.

Stages, each through the library function its CLI verb uses:
  1. a random tiny Qwen2-VL model with a compact vocabulary (`umer1.engine.tiny`),
  2. synthetic shapes data (`umer1.experiments.synthetic`: SFT records, RL pairs, held-out tasks),
  3. SFT (`umer1.train.sft.run`), 4. RL from the SFT model (`umer1.train.rl.run`),
  5. evaluation of the SFT and the RL model, disc + gen + oracle, and pass@k for the RL model
     (`umer1.eval.suite.evaluate`), 6. a report (`umer1.experiments.demo_report`).
The time budget is split between stages by `share`s. The trainers count steps, not seconds,
so each training stage trains in resumed segments (`Segments`), each sized from the seconds
per step measured so far, until its share of the budget is spent. A finished stage leaves a marker with
its settings; a rerun with the same settings skips it, so a killed demo resumes stage-wise.
"""
from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

from umer1.utils.config import from_dict, save_resolved, to_dict
from umer1.utils.errors import InputError
from umer1.utils.files import write_json

log = logging.getLogger(__name__)

DEFAULT_MINUTES = 10.0


@dataclass
class DemoData:
    train: int = 4096            # SFT pairs (at the default budget; scaled down for shorter ones)
    rl: int = 256
    eval: int = 48               # held-out queries per task
    candidates: int = 8
    tasks: list[str] = field(default_factory=lambda: ["t2i", "i2t", "cls", "vqa"])
    min_train: int = 64
    min_rl: int = 16
    min_eval: int = 4


@dataclass
class DemoModel:
    hidden_size: int = 64
    num_layers: int = 2
    num_heads: int = 4
    num_kv_heads: int = 2
    vision_depth: int = 2
    vision_dim: int = 64         # the random vision tower must learn shapes and colours
    vocabulary_sample: int = 400  # SFT pairs whose text trains the compact vocabulary


@dataclass
class DemoSFT:
    share: float = 0.6           # of the budget left after setup
    batch_size: int = 16
    lr: float = 1.0e-3
    freeze_vision: bool = False  # the tiny vision tower is random: let it learn
    warmup_steps: int = 20
    first_segment: int = 20      # steps of the first segment, which measures the step time
    min_steps: int = 2
    max_steps: int = 2000


@dataclass
class DemoRL:
    share: float = 0.1
    pairs_per_step: int = 4
    num_generations: int = 4
    max_completion_length: int = 64
    lr: float = 2.0e-5
    beta: float = 0.04
    first_segment: int = 2
    min_steps: int = 1
    max_steps: int = 500


@dataclass
class DemoEval:
    max_new_tokens: int = 64     # the terse traces end well within it
    batch_size: int = 16
    num_samples: int = 4         # pass@k up to this k, RL model only
    temperature: float = 1.0


@dataclass
class DemoConfig:
    minutes: float = DEFAULT_MINUTES
    seed: int = 0
    # torch threads (0 = torch's default). One: the tiny model's matrices gain little from more,
    # and on a shared machine a second thread that waits for a busy core slows every step.
    threads: int = 1
    data: DemoData = field(default_factory=DemoData)
    model: DemoModel = field(default_factory=DemoModel)
    sft: DemoSFT = field(default_factory=DemoSFT)
    rl: DemoRL = field(default_factory=DemoRL)
    eval: DemoEval = field(default_factory=DemoEval)

    def check(self) -> None:
        if self.minutes <= 0:
            raise InputError("must be positive", field="--minutes")
        if self.sft.share + self.rl.share >= 1 or min(self.sft.share, self.rl.share) <= 0:
            raise InputError("sft.share and rl.share must be positive and sum below 1 (the rest "
                             "is evaluation)", field="sft.share")


def scaled(n: int, minimum: int, minutes: float) -> int:
    """A data size for a budget: the default size at the default budget, never below `minimum`."""
    return max(minimum, min(n, round(n * minutes / DEFAULT_MINUTES)))


class Clock:
    def __init__(self, minutes: float):
        self.start, self.budget = time.perf_counter(), minutes * 60
        self.stages: dict[str, float] = {}

    def left(self) -> float:
        return self.budget - (time.perf_counter() - self.start)

    def elapsed(self) -> float:
        return time.perf_counter() - self.start


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


def run_demo(out_dir: str | Path, cfg: DemoConfig | None = None) -> dict:
    """Run every stage into `out_dir`; returns the summary the report is made from."""
    cfg = cfg or DemoConfig()
    cfg.check()
    import torch
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    save_resolved(cfg, out, "demo_config.yaml")
    clock, stages = Clock(cfg.minutes), Stages(out)
    timings: dict[str, float] = {}

    t = time.perf_counter()
    data = _data_stage(out, cfg, stages)
    base = _model_stage(out, cfg, stages, data)
    timings["setup"] = time.perf_counter() - t
    rest = max(clock.left(), 1.0)

    t = time.perf_counter()
    sft = _sft_stage(out, cfg, stages, data, base, budget=rest * cfg.sft.share)
    timings["sft"] = time.perf_counter() - t
    t = time.perf_counter()
    rl = _rl_stage(out, cfg, stages, data, sft, budget=rest * cfg.rl.share)
    timings["rl"] = time.perf_counter() - t
    t = time.perf_counter()
    evals = _eval_stage(out, cfg, stages, data, sft, rl)
    timings["eval"] = time.perf_counter() - t
    timings["total"] = clock.elapsed()

    from umer1.experiments.demo_report import write_report
    summary = {"config": to_dict(cfg), "timings": timings, "budget_s": clock.budget,
               "data": data, "sft": sft, "rl": rl, "eval": evals, "out_dir": str(out)}
    summary["report"] = write_report(out, summary)
    write_json(out / "demo_summary.json", summary)
    return summary


# ----- stages ---------------------------------------------------------------------------------
def _data_stage(out: Path, cfg: DemoConfig, stages: Stages) -> dict:
    from umer1.experiments.synthetic import generate_dataset
    d, m = cfg.data, cfg.minutes
    sizes = {"seed": cfg.seed, "train": scaled(d.train, d.min_train, m), "rl": scaled(d.rl, d.min_rl, m),
             "eval": scaled(d.eval, d.min_eval, m), "candidates": d.candidates,
             "tasks": tuple(d.tasks)}
    done = stages.done("data", {**sizes, "tasks": list(d.tasks)})
    if done:
        return done
    paths = generate_dataset(out / "data", overwrite=True, **sizes)
    result = {**sizes, "sft": str(paths.sft), "rl_file": str(paths.rl), "tasks": str(paths.tasks),
              "manifest": json.loads(paths.manifest.read_text())}
    stages.mark("data", {**sizes, "tasks": list(d.tasks)}, result)
    return result


def _model_stage(out: Path, cfg: DemoConfig, stages: Stages, data: dict) -> str:
    from umer1.engine.tiny import make_tiny_model
    settings = {"seed": cfg.seed, **to_dict(cfg.model), "data": data["sft"]}
    if stages.done("model", settings):
        return str(out / "base")
    from umer1.data.sft import conversation_texts
    # The compact vocabulary learns its merges from the training text (never the held-out split).
    corpus = conversation_texts(data["sft"], cfg.model.vocabulary_sample)
    m = cfg.model
    make_tiny_model(out / "base", seed=cfg.seed, hidden_size=m.hidden_size, num_layers=m.num_layers,
                    num_heads=m.num_heads, num_kv_heads=m.num_kv_heads, vision_depth=m.vision_depth,
                    vision_dim=m.vision_dim, extra_corpus=corpus)
    stages.mark("model", settings, {"path": str(out / "base")})
    return str(out / "base")


class Segments:
    """Train to a wall-clock budget in resumed segments (the trainers count steps, not seconds).

    Each segment resumes the last one's checkpoint (optimiser, data position, step) and is sized
    from the seconds per step measured so far, so a machine that slows down or speeds up midway
    is followed; a segment takes at most `share` of the time left, so one slow spell overruns
    the budget by little. Every step trained counts: there is no thrown-away calibration run.
    """

    def __init__(self, budget: float, first: int, lo: int, hi: int, share: float = 0.6,
                 tail: float = 40.0):
        self.budget, self.first, self.lo, self.hi = budget, first, lo, hi
        self.share, self.tail = share, tail
        self.start = time.perf_counter()
        self.steps, self.per, self.count = 0, 0.0, 0

    def left(self) -> float:
        return self.budget - (time.perf_counter() - self.start)

    def next_target(self) -> int | None:
        """The step count the next segment trains to, or None when the budget is spent."""
        if self.count == 0:
            return max(self.lo, min(self.hi, self.first))
        if self.steps >= self.hi:
            return None
        left = self.left()
        use = left if left <= self.tail else max(self.tail, left * self.share)
        more = int(use / max(self.per, 1e-3))
        if self.steps < self.lo:
            more = max(more, self.lo - self.steps)
        return min(self.hi, self.steps + more) if more >= 1 else None

    def record(self, target: int, seconds: float) -> None:
        """A segment trained from self.steps to `target` in `seconds`. Its loading and saving
        count as step time: a conservative figure, so the last segment ends a little early."""
        self.per = seconds / max(target - self.steps, 1)
        self.steps, self.count = target, self.count + 1

    def run(self, train_to) -> int:
        """Call `train_to(target)` segment by segment; returns the steps trained."""
        while (target := self.next_target()) is not None:
            t = time.perf_counter()
            train_to(target)
            self.record(target, time.perf_counter() - t)
            log.info("trained to step %d: %.2f s per step, %.0f s left", target, self.per, self.left())
        return self.steps


def _sft_config(cfg: DemoConfig, data: dict, base: str, out: Path, steps: int):
    from umer1.train.sft import SFTConfig
    s = cfg.sft
    # Constant rate after a fixed warm-up: a resumed segment continues the same schedule
    # however many steps the budget ends up holding.
    return from_dict(SFTConfig, {
        "model": {"base": base, "freeze_vision": s.freeze_vision},
        "data": {"train_file": data["sft"], "batch_size": s.batch_size, "order": "shuffle"},
        "optim": {"lr": s.lr, "warmup_ratio": min(1.0, s.warmup_steps / max(steps, 1)),
                  "schedule": "constant"},
        "train": {"output_dir": str(out), "steps": steps, "seed": cfg.seed, "progress_bar": True,
                  "plot": False, "log_every": 1, "save_every": 0, "keep_last": 1}})


def _sft_stage(out: Path, cfg: DemoConfig, stages: Stages, data: dict, base: str, budget: float) -> dict:
    from umer1.train.sft import run as train
    settings = {"sft": to_dict(cfg.sft), "base": base, "data": data["sft"], "budget": round(budget)}
    done = stages.done("sft", settings)
    if done:
        return done
    run = out / "sft"
    shutil.rmtree(run, ignore_errors=True)
    s = cfg.sft
    seg = Segments(budget, s.first_segment, s.min_steps, s.max_steps)
    summary: dict = {}

    def train_to(steps: int) -> None:
        summary.update(train(_sft_config(cfg, data, base, run, steps), resume=run.exists()))

    steps = seg.run(train_to)
    log.info("SFT: %d steps in %d segments (%.2f s per step)", steps, seg.count, seg.per)
    result = {"steps": steps, "segments": seg.count, "seconds_per_step": seg.per,
              "model": summary["final_model"], "metrics": str(run / "metrics.jsonl")}
    stages.mark("sft", settings, result)
    return result


def _rl_config(cfg: DemoConfig, data: dict, model: str, out: Path, steps: int):
    from umer1.train.rl import RLConfig
    r = cfg.rl
    return from_dict(RLConfig, {
        "model": {"base": model, "freeze_vision": cfg.sft.freeze_vision},
        "data": {"train_file": data["rl_file"], "pairs_per_device": r.pairs_per_step},
        "rollout": {"num_generations": r.num_generations, "temperature": 1.0,
                    "max_completion_length": r.max_completion_length},
        "grpo": {"beta": r.beta},
        "optim": {"lr": r.lr, "warmup_ratio": 0.0, "schedule": "constant"},
        "train": {"output_dir": str(out), "steps": steps,
                  "seed": cfg.seed, "save_every": max(steps, 1), "keep_last": 1, "cpu": True,
                  "plot": False}})


def _rl_stage(out: Path, cfg: DemoConfig, stages: Stages, data: dict, sft: dict, budget: float) -> dict:
    from umer1.train.rl import run as train
    settings = {"rl": to_dict(cfg.rl), "sft": sft["model"], "data": data["rl_file"], "budget": round(budget)}
    done = stages.done("rl", settings)
    if done:
        return done
    run = out / "rl"
    shutil.rmtree(run, ignore_errors=True)
    r = cfg.rl
    seg = Segments(budget, r.first_segment, r.min_steps, r.max_steps)
    summary: dict = {}

    def train_to(steps: int) -> None:
        summary.update(train(_rl_config(cfg, data, sft["model"], run, steps), resume=run.exists()))

    steps = seg.run(train_to)
    log.info("RL: %d steps in %d segments (%.2f s per step)", steps, seg.count, seg.per)
    result = {"steps": steps, "segments": seg.count, "seconds_per_step": seg.per,
              "model": summary["final_model"], "metrics": str(run / "metrics.jsonl")}
    stages.mark("rl", settings, result)
    return result


def _eval_stage(out: Path, cfg: DemoConfig, stages: Stages, data: dict, sft: dict, rl: dict) -> dict:
    from umer1.eval.suite import EvalOptions, evaluate
    from umer1.eval.registry import resolve_tasks
    from umer1.engine.model import UMEModel
    specs, root = resolve_tasks(data["tasks"])
    e = cfg.eval
    results = {}
    for name, model_dir, k in (("sft", sft["model"], 1), ("rl", rl["model"], e.num_samples)):
        settings = {"eval": to_dict(e), "model": model_dir, "tasks": data["tasks"], "k": k}
        done = stages.done(f"eval-{name}", settings)
        if done:
            results[name] = done
            continue
        target = out / "eval" / name
        shutil.rmtree(target, ignore_errors=True)
        model = UMEModel.from_pretrained(model_dir)
        opts = EvalOptions(query_mode="both", max_new_tokens=e.max_new_tokens, batch_size=e.batch_size,
                           num_samples=k, temperature=e.temperature, seed=cfg.seed, show_progress=True)
        evaluate(model, specs, root, target, opts)
        results[name] = {"dir": str(target)}
        stages.mark(f"eval-{name}", settings, results[name])
    return results
