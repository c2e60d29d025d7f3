"""Pieces every trainer (SFT, RL) shares: model set-up, optimiser, schedule, metrics output."""
from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass, field
from pathlib import Path

import torch

log = logging.getLogger(__name__)

LORA_TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]


@dataclass
class LoraSettings:
    enabled: bool = False
    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    target_modules: list[str] = field(default_factory=lambda: list(LORA_TARGETS))


@dataclass
class OptimSettings:
    lr: float = 5e-5
    weight_decay: float = 0.0
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    warmup_ratio: float = 0.03
    schedule: str = "cosine"          # cosine | constant
    max_grad_norm: float = 1.0        # 0 disables clipping
    grad_accum: int = 1               # accumulation adds NO in-batch negatives


def freeze_vision_tower(ume, keep_merger: bool = True) -> None:
    """Freeze the vision encoder; the merger (vision -> LLM projection) stays trainable."""
    tower = ume.backbone.vision_tower(ume.hf_model)
    tower.requires_grad_(False)
    if keep_merger and hasattr(tower, "merger"):
        tower.merger.requires_grad_(True)


def apply_lora(ume, lora: LoraSettings) -> None:
    """Wrap the model with PEFT LoRA adapters on the language model's linear layers only."""
    from peft import LoraConfig, get_peft_model
    targets = "|".join(lora.target_modules)
    cfg = LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                     target_modules=rf".*language_model.*\.({targets})$")
    ume.model = get_peft_model(ume.model, cfg)


def enable_gradient_checkpointing(ume) -> None:
    hf = ume.hf_model
    hf.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if hasattr(hf, "enable_input_require_grads"):
        hf.enable_input_require_grads()  # needed when the embeddings are frozen (LoRA)


def trainable_parameters(module) -> list[torch.nn.Parameter]:
    return [p for p in module.parameters() if p.requires_grad]


def make_optimizer(params, opt: OptimSettings) -> torch.optim.Optimizer:
    return torch.optim.AdamW(params, lr=opt.lr, weight_decay=opt.weight_decay,
                             betas=tuple(opt.betas))


def make_scheduler(optimizer, opt: OptimSettings, total_steps: int):
    """Linear warmup over warmup_ratio * total steps, then cosine decay to 0 (or constant)."""
    warmup = int(math.ceil(opt.warmup_ratio * total_steps))

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        if opt.schedule == "constant":
            return 1.0
        progress = (step - warmup) / max(1, total_steps - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(1.0, progress)))

    return torch.optim.lr_scheduler.LambdaLR(optimizer, factor)


def reduce_mean(accelerator, values: dict[str, float]) -> dict[str, float]:
    """Mean of each scalar over processes (for logging)."""
    if accelerator.num_processes == 1 or not values:
        return values
    keys = sorted(values)
    t = torch.tensor([float(values[k]) for k in keys], device=accelerator.device)
    t = accelerator.reduce(t, reduction="mean")
    return dict(zip(keys, t.tolist()))


def all_sum(accelerator, value: float) -> float:
    if accelerator.num_processes == 1:
        return float(value)
    t = torch.tensor([float(value)], device=accelerator.device)
    return float(accelerator.reduce(t, reduction="sum").item())


class MetricsLog:
    """Per-step metrics as JSONL (main process), kept consistent with a resumed run:
    rows after the resumed step are removed before new ones are appended."""

    def __init__(self, path: str | Path, enabled: bool, resume_step: int = 0):
        self.path = Path(path)
        self.enabled = enabled
        if enabled:
            rows = []
            if resume_step and self.path.is_file():
                rows = [r for r in read_metrics(self.path) if r.get("step", 0) <= resume_step]
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("w", encoding="utf-8") as fh:
                fh.writelines(json.dumps(r) + "\n" for r in rows)

    def write(self, row: dict) -> None:
        if self.enabled:
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(row) + "\n")
                fh.flush()


def read_metrics(path: str | Path) -> list[dict]:
    rows = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:  # a line cut by a kill: ignore it
            continue
    return rows
