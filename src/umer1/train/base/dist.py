"""Reductions over processes for logging and checkpointing (no-ops with one process)."""
from __future__ import annotations

import torch


def reduce_mean(accelerator, values: dict[str, float]) -> dict[str, float]:
    """Mean of each scalar over processes."""
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


def gather_ints(accelerator, value: int) -> list[int]:
    """Every process's `value`, in rank order."""
    t = torch.tensor([value], dtype=torch.long, device=accelerator.device)
    return (accelerator.gather(t) if accelerator.num_processes > 1 else t).tolist()
