"""The run loop both stages plug into.

A stage subclasses `Trainer` and provides:
- `setup()`: read the data, load the model (`self.ume`) and call `prepare`, which fixes the
  step count (train.steps, or train.epochs x the steps one epoch holds) and builds the
  optimiser and the schedule;
- `train_step()`: one step (its micro-steps, backward passes and `update()` calls), which
  advances `self.step` and returns the step's metrics row;
- `trainer_state()` / `load_trainer_state()`: the data position a checkpoint keeps;
- optionally `run_info()`, `summary()`, `postfix()` and the plot attributes.

The base owns the rest: validation before anything is written, the run folder (refusal,
overwrite, resume, data hash), accelerate, seeding, checkpoints, metrics, trackers, progress,
the final model, the plot and `summary.json`.
"""
from __future__ import annotations

import json
import logging
import time
from pathlib import Path

from umer1.engine.card import Provenance
from umer1.train.base.checkpoint import load_checkpoint, save_checkpoint, save_model_dir
from umer1.train.base.metrics import MetricsLog
from umer1.train.base.model import trainable_parameters
from umer1.train.base.optim import make_optimizer, make_scheduler
from umer1.train.base.run import RUN_INFO, RunFolder
from umer1.utils.config import save_resolved, to_dict
from umer1.utils.files import write_json
from umer1.utils.progress import progress

log = logging.getLogger(__name__)


def build_accelerator(cfg, accumulation_steps: int):
    """Accelerator + global seed. `accumulation_steps` is what `accelerator.accumulate` and
    `accelerator.backward` count with (1 for a stage that scales its micro-steps itself)."""
    from accelerate import Accelerator, DistributedDataParallelKwargs
    from accelerate.utils import set_seed
    t = cfg.train
    kwargs = [DistributedDataParallelKwargs(find_unused_parameters=t.find_unused_parameters)]
    # step_scheduler_with_optimizer=False: the schedule steps once per update, not once per process
    acc = Accelerator(cpu=t.cpu, gradient_accumulation_steps=accumulation_steps,
                      mixed_precision=t.mixed_precision, log_with=t.trackers or None,
                      project_dir=t.output_dir, step_scheduler_with_optimizer=False,
                      kwargs_handlers=kwargs)
    set_seed(t.seed)
    return acc


class Trainer:
    stage = ""                       # "sft" | "rl": progress bar and tracker names
    plot_file = ""                   # PNG written at the end (train.plot)
    plot_keys: tuple[str, ...] = ()
    plot_panels = False
    plot_title = ""

    def __init__(self, cfg, *, resume: bool | str | Path = False, overwrite: bool = False,
                 accelerator=None):
        cfg.validate()
        self.cfg = cfg
        self.folder = RunFolder(cfg.train.output_dir, [cfg.data.train_file], resume=resume,
                             overwrite=overwrite)
        self.out = self.folder.path
        self.acc = accelerator or build_accelerator(cfg, self.accumulation_steps())
        self.step = 0
        self.setup()

    # ----- what a stage provides -----------------------------------------------------------
    def accumulation_steps(self) -> int:
        return self.cfg.optim.grad_accum

    def setup(self) -> None:
        raise NotImplementedError

    def train_step(self) -> dict:
        raise NotImplementedError

    def trainer_state(self) -> dict:
        raise NotImplementedError

    def load_trainer_state(self, state: dict) -> None:
        raise NotImplementedError

    def run_info(self) -> dict:
        return {}

    def summary(self) -> dict:
        return {}

    def postfix(self, row: dict) -> dict:
        return {"loss": f"{row['loss']:.4f}"}

    # ----- shared pieces ----------------------------------------------------------------------
    def prepare(self, module, steps_per_epoch: float, updates_per_step: int = 1) -> None:
        """Fix `total_steps`; AdamW over `module`'s trainable parameters and the LR schedule
        (over every update), all prepared by accelerate so that checkpoints hold them.
        `module` is a `TeacherForced` wrapper."""
        t = self.cfg.train
        self.total_steps = t.steps if t.epochs is None else max(1, int(t.epochs * steps_per_epoch))
        optimizer = make_optimizer(trainable_parameters(module), self.cfg.optim)
        scheduler = make_scheduler(optimizer, self.cfg.optim, self.total_steps * updates_per_step)
        self.wrapped, self.optimizer, self.scheduler = self.acc.prepare(module, optimizer, scheduler)

    def update(self) -> tuple[float | None, float]:
        """Clip, optimiser step, schedule step, zero the gradients.
        Returns (gradient norm before clipping or None when clipping is off, the rate used)."""
        clip = self.cfg.optim.max_grad_norm
        norm = self.acc.clip_grad_norm_(self.wrapped.parameters(), clip) if clip > 0 else None
        lr = self.scheduler.get_last_lr()[0]
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return (None if norm is None else float(norm)), lr

    def save_checkpoint(self) -> None:
        save_checkpoint(self.acc, self.out, self.step, wrapped=self.wrapped,
                        processor=self.ume.processor, settings=self.ume.settings, config=self.cfg,
                        trainer_state=self.trainer_state(), keep_last=self.cfg.train.keep_last,
                        provenance=self.provenance())

    def provenance(self) -> Provenance:
        """What the model card records about a model this run saves now."""
        return Provenance(stage=self.stage, base_model=self.cfg.model.base, step=self.step,
                          total_steps=self.total_steps, data=self.folder.data_sha256)

    # ----- the loop ---------------------------------------------------------------------------
    def fit(self) -> dict:
        """Train to `total_steps` (from the resumed checkpoint, if any); returns the summary."""
        cfg, acc, out = self.cfg, self.acc, self.out
        self.folder.start(acc)
        if self.folder.checkpoint is not None:
            state = load_checkpoint(acc, self.folder.checkpoint)
            self.step = state["step"]
            self.load_trainer_state(state)
        if acc.is_main_process:
            save_resolved(cfg, out)
            write_json(out / RUN_INFO, {
                "stage": self.stage, "base_model": cfg.model.base, "data_sha256": self.folder.data_sha256,
                "num_processes": acc.num_processes, "total_steps": self.total_steps,
                "trainable_parameters": sum(p.numel() for p in trainable_parameters(self.wrapped)),
                "resumed_from": None if self.folder.checkpoint is None else str(self.folder.checkpoint),
                **self.run_info(), "config": to_dict(cfg)})
        if cfg.train.trackers:
            acc.init_trackers(f"umer1-{self.stage}", config=_flat(to_dict(cfg)))
        metrics = MetricsLog(out / "metrics.jsonl", acc.is_main_process, resume_step=self.step)
        bar = progress(total=self.total_steps, desc=self.stage,
                       enabled=cfg.train.progress_bar and acc.is_main_process)
        bar.update(self.step)
        t0 = time.time()
        while self.step < self.total_steps:
            row = self.train_step()
            row["elapsed_s"] = round(time.time() - t0, 3)
            last = self.step == self.total_steps
            if self.step % cfg.train.log_every == 0 or last:
                metrics.write(row)
                if cfg.train.trackers:
                    acc.log({k: v for k, v in row.items() if isinstance(v, (int, float))}, step=self.step)
            bar.set_postfix(self.postfix(row))
            bar.update(1)
            if cfg.train.save_every and self.step % cfg.train.save_every == 0 and not last:
                self.save_checkpoint()
        bar.close()
        self.save_checkpoint()
        save_model_dir(acc, self.wrapped, self.ume.processor, self.ume.settings, cfg, out / "final",
                       self.provenance())
        if cfg.train.trackers:
            acc.end_training()
        summary = {"steps": self.step, "output_dir": str(out), "final_model": str(out / "final"),
                   "metrics": str(out / "metrics.jsonl"), **self.summary()}
        if acc.is_main_process:
            if cfg.train.plot and (out / "metrics.jsonl").is_file():
                from umer1.utils.plots import plot_metrics
                plot = plot_metrics(out / "metrics.jsonl", out / self.plot_file, self.plot_keys,
                                    panels=self.plot_panels, title=self.plot_title)
                if plot is not None:
                    summary["plot"] = str(plot)
            write_json(out / "summary.json", summary)
        return summary


def _flat(d: dict, prefix: str = "") -> dict:
    """Nested config -> flat scalars, as trackers take them."""
    flat = {}
    for k, v in d.items():
        if isinstance(v, dict):
            flat.update(_flat(v, f"{prefix}{k}."))
        else:
            flat[prefix + k] = v if isinstance(v, (int, float, str, bool)) else json.dumps(v)
    return flat
