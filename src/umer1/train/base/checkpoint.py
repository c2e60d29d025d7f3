"""Training checkpoints shared by the SFT and RL trainers.

A checkpoint is one directory `RUN/checkpoints/step-00000100/` holding
- `model/`: the trained model in the usual layout (transformers or PEFT adapter), the processor,
  `umer1.json`, the resolved `config.yaml` and the model card (`README.md`): loadable with
  `UMEModel.from_pretrained`, shareable on a model hub as it is;
- `state/`: accelerate's `save_state` (model, optimizer, scheduler, every process's RNG
  states; sharded correctly under DeepSpeed / FSDP);
- `trainer_state.json`: the step, the data position and anything else the trainer needs.

It is written under a temporary name and renamed when complete, so a run killed while saving
leaves the previous checkpoint intact; only the last `keep_last` checkpoints are kept.
"""
from __future__ import annotations

import json
import logging
import re
import shutil
from pathlib import Path
from typing import Any

from umer1.engine.card import Provenance, write_card
from umer1.utils.config import save_resolved

log = logging.getLogger(__name__)

CHECKPOINTS = "checkpoints"
PREFIX = "step-"
_STEP_RE = re.compile(rf"^{PREFIX}(\d+)$")
TRAINER_STATE = "trainer_state.json"


def checkpoint_dirs(run_dir: str | Path) -> list[Path]:
    """Complete checkpoints of a run, oldest first."""
    root = Path(run_dir) / CHECKPOINTS
    if not root.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in root.iterdir()
             if p.is_dir() and (m := _STEP_RE.match(p.name)) and (p / TRAINER_STATE).is_file()]
    return [p for _, p in sorted(found)]


def latest_checkpoint(run_dir: str | Path) -> Path | None:
    dirs = checkpoint_dirs(run_dir)
    return dirs[-1] if dirs else None


def save_model_dir(accelerator, wrapped, processor, settings, config, out_dir: Path,
                   provenance: Provenance | None = None) -> None:
    """The HF-layout model (+ processor, umer1.json, config.yaml, card) of a prepared module.

    `wrapped` is what `accelerator.prepare` returned for a module whose `.model` attribute is
    the transformers / PEFT model (e.g. `umer1.engine.forward.TeacherForced`). All processes must call
    this (the full state dict is gathered under ZeRO-3 / FSDP); only the main one writes.
    """
    state = accelerator.get_state_dict(wrapped)
    inner = accelerator.unwrap_model(wrapped).model
    if state is not None:
        state = {k[len("model."):]: v for k, v in state.items() if k.startswith("model.")}
    if accelerator.is_main_process:
        out_dir.mkdir(parents=True, exist_ok=True)
        inner.save_pretrained(out_dir, state_dict=state, save_function=accelerator.save)
        processor.save_pretrained(out_dir)
        settings.save(out_dir)
        if config is not None:
            save_resolved(config, out_dir)
        write_card(out_dir, provenance or Provenance())   # last: it reads the files above
    accelerator.wait_for_everyone()


def save_checkpoint(accelerator, run_dir: str | Path, step: int, *, wrapped, processor, settings,
                    config: Any, trainer_state: dict, keep_last: int = 2,
                    provenance: Provenance | None = None) -> Path:
    """Write checkpoint `step` atomically (every process must call this)."""
    root = Path(run_dir) / CHECKPOINTS
    final = root / f"{PREFIX}{step:08d}"
    tmp = root / f".tmp-{PREFIX}{step:08d}"
    if accelerator.is_main_process:
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
    accelerator.wait_for_everyone()
    save_model_dir(accelerator, wrapped, processor, settings, config, tmp / "model", provenance)
    accelerator.save_state(str(tmp / "state"), safe_serialization=False)
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        (tmp / TRAINER_STATE).write_text(json.dumps({"step": step, **trainer_state}, indent=2))
        if final.exists():  # the same step saved again after a resume
            shutil.rmtree(final)
        tmp.rename(final)
        for old in checkpoint_dirs(run_dir)[:-keep_last] if keep_last > 0 else []:
            shutil.rmtree(old, ignore_errors=True)
        log.info("saved checkpoint %s", final)
    accelerator.wait_for_everyone()
    return final


def load_checkpoint(accelerator, path: str | Path) -> dict:
    """Restore model, optimizer, scheduler and RNG states (all prepared objects) from `path`;
    return its trainer state (step, data position, ...)."""
    path = Path(path)
    accelerator.load_state(str(path / "state"))
    state = json.loads((path / TRAINER_STATE).read_text())
    log.info("resumed from %s (step %d)", path, state["step"])
    return state


def clean_partial(run_dir: str | Path, accelerator) -> None:
    """Remove temporary directories a killed save left behind."""
    root = Path(run_dir) / CHECKPOINTS
    if accelerator.is_main_process and root.is_dir():
        for p in root.glob(f".tmp-{PREFIX}*"):
            shutil.rmtree(p, ignore_errors=True)
    accelerator.wait_for_everyone()
