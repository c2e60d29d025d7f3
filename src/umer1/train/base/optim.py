"""Optimiser and learning-rate schedule of both stages."""
from __future__ import annotations

import math

import torch

from umer1.train.base.config import OptimSettings


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
