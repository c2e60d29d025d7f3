"""The config sections both stages share, and their validation.

Each stage's config is `model`, `data`, `optim`, `train` (these classes, `data` extended by
the stage) plus its own sections. `validate_common` checks what every run needs before
anything is loaded or written; each error names the dotted key.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from umer1.utils.errors import InputError

LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
# EmbeddingSettings fields a config may override (None = the checkpoint's own)
PIXEL_OVERRIDES = ("min_pixels", "max_pixels", "video_max_pixels", "video_frames", "blank_image_for_text")


@dataclass
class LoraSettings:
    enabled: bool = False
    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: list[str] = field(default_factory=lambda: list(LORA_TARGETS))


@dataclass
class ModelConfig:
    base: str = ""                       # directory or hub id of the model to train
    tiny: bool = False                   # build a random tiny model at `base` if it is missing
    dtype: str = "float32"               # weights dtype: float32 | bfloat16 | float16
    attn_implementation: str | None = None
    freeze_vision: bool = True           # vision tower frozen, merger + LLM trained
    gradient_checkpointing: bool = False
    lora: LoraSettings = field(default_factory=LoraSettings)
    min_pixels: int | None = None
    max_pixels: int | None = None
    video_max_pixels: int | None = None
    video_frames: int | None = None
    blank_image_for_text: bool | None = None

    def overrides(self) -> dict:
        return {k: getattr(self, k) for k in PIXEL_OVERRIDES if getattr(self, k) is not None}


@dataclass
class DataConfig:
    train_file: str = ""
    data_root: str | None = None         # default: the train file's folder
    check_files: bool = True             # open every image / frame before training


@dataclass
class OptimSettings:
    lr: float = 5e-5
    weight_decay: float = 0.0
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    warmup_ratio: float = 0.03
    schedule: Literal["cosine", "constant"] = "cosine"
    max_grad_norm: float = 1.0        # 0 disables clipping
    grad_accum: int = 1               # accumulation adds NO in-batch negatives


@dataclass
class TrainConfig:
    output_dir: str = "runs/train"
    steps: int | None = 100              # optimiser steps (RL: rollout steps)
    epochs: float | None = None          # instead of steps (set steps: null): passes over the data
    seed: int = 0
    mixed_precision: Literal["no", "bf16", "fp16"] = "no"
    cpu: bool = False                    # force the CPU even where a GPU is visible
    log_every: int = 1
    save_every: int = 100                # checkpoint every N steps (0 = only at the end)
    keep_last: int = 2                   # checkpoints kept (0 = all)
    trackers: list[str] = field(default_factory=list)   # e.g. [tensorboard], [wandb]
    progress_bar: bool = True
    plot: bool = True
    find_unused_parameters: bool = False


def need(ok: bool, key: str, message: str) -> None:
    if not ok:
        raise InputError(message, field=key)


def at_least(value: int | None, low: int, key: str) -> None:
    """`value` (None allowed: unset) must be an integer >= low."""
    need(value is None or value >= low, key, f"must be at least {low}, got {value}")


def finite(value: float, key: str, *, low: float | None = None, positive: bool = False) -> None:
    need(math.isfinite(value), key, f"must be a finite number, got {value}")
    need(not positive or value > 0, key, f"must be > 0, got {value}")
    need(low is None or value >= low, key, f"must be >= {low}, got {value}")


def validate_common(cfg) -> None:
    """Checks of the shared sections (`cfg.model`, `cfg.data`, `cfg.optim`, `cfg.train`)."""
    m, d, o, t = cfg.model, cfg.data, cfg.optim, cfg.train
    need(bool(m.base), "model.base", "required: the model to train (a directory or hub id)")
    need(bool(d.train_file), "data.train_file", "required: the training JSONL file")
    for key in ("min_pixels", "max_pixels", "video_max_pixels", "video_frames"):
        at_least(getattr(m, key), 1, f"model.{key}")
    if m.lora.enabled:
        at_least(m.lora.r, 1, "model.lora.r")
        finite(m.lora.dropout, "model.lora.dropout", low=0.0)
    finite(o.lr, "optim.lr", positive=True)
    finite(o.weight_decay, "optim.weight_decay", low=0.0)
    finite(o.max_grad_norm, "optim.max_grad_norm", low=0.0)
    finite(o.warmup_ratio, "optim.warmup_ratio", low=0.0)
    need(o.warmup_ratio <= 1, "optim.warmup_ratio", f"must be <= 1, got {o.warmup_ratio}")
    need(len(o.betas) == 2 and all(0 <= b < 1 for b in o.betas), "optim.betas",
         f"expected two numbers in [0, 1), got {o.betas}")
    at_least(o.grad_accum, 1, "optim.grad_accum")
    if t.epochs is None:
        need(t.steps is not None, "train.steps", "set train.steps or train.epochs")
        at_least(t.steps, 1, "train.steps")
    else:
        need(t.steps is None, "train.epochs", "train.steps and train.epochs are both set: give one "
             "(train.steps=null to train by epochs)")
        finite(t.epochs, "train.epochs", positive=True)
    at_least(t.log_every, 1, "train.log_every")
    at_least(t.save_every, 0, "train.save_every")
    at_least(t.keep_last, 0, "train.keep_last")
    need(bool(t.output_dir), "train.output_dir", "required")
