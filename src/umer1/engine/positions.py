"""Where each embedding is read. Shared by inference, SFT, RL and evaluation so they agree.

- disc: the last-layer (final-norm) state AT the `<disc_emb>` token of the prompt (no +1).
- gen: the last-layer state AT the generated `<gen_emb>`: the LAST occurrence of the token,
  counted only if it lies in the generated part (the prompt itself contains `<gen_emb>`).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

MISSING = -1


def disc_positions(input_ids: torch.Tensor, disc_id: int) -> torch.Tensor:
    """Index of the last `<disc_emb>` in each row; every row must have one."""
    hit = input_ids == disc_id
    if not bool(hit.any(dim=1).all()):
        rows = (~hit.any(dim=1)).nonzero().flatten().tolist()
        raise ValueError(f"rows {rows} have no <disc_emb> token: was the prompt truncated?")
    return _last_true(hit)


def gen_positions(input_ids: torch.Tensor, gen_id: int, generated_start: torch.Tensor | int
                  ) -> torch.Tensor:
    """Index of the last `<gen_emb>` at or after `generated_start` per row, else MISSING (-1).

    `generated_start` is where the assistant's (generated or teacher-forced) text begins,
    a scalar or one index per row.
    """
    L = input_ids.shape[1]
    cols = torch.arange(L, device=input_ids.device).expand_as(input_ids)
    start = torch.as_tensor(generated_start, device=input_ids.device).reshape(-1, 1)
    hit = (input_ids == gen_id) & (cols >= start)
    pos = _last_true(hit)
    return torch.where(hit.any(dim=1), pos, torch.full_like(pos, MISSING))


def _last_true(mask: torch.Tensor) -> torch.Tensor:
    L = mask.shape[1]
    cols = torch.arange(L, device=mask.device).expand_as(mask)
    return torch.where(mask, cols, torch.full_like(cols, -1)).max(dim=1).values


def gather(hidden: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """hidden[b, positions[b]] for each row (positions must be valid)."""
    rows = torch.arange(hidden.shape[0], device=hidden.device)
    return hidden[rows, positions.to(hidden.device)]


def normalize(x: torch.Tensor) -> torch.Tensor:
    """L2 normalisation in float32 (bf16 norms are too coarse for cosine ranking)."""
    return F.normalize(x.float(), dim=-1)


def assistant_start(input_ids: torch.Tensor, marker: list[int]) -> torch.Tensor:
    """Per row, the index just after the LAST occurrence of the token sequence `marker`
    (the tokens of `<|im_start|>assistant\\n`), i.e. where the assistant text begins."""
    B, L = input_ids.shape
    m = len(marker)
    out = torch.full((B,), MISSING, dtype=torch.long, device=input_ids.device)
    if L < m:
        return out
    windows = input_ids.unfold(1, m, 1)  # B x (L-m+1) x m
    match = (windows == torch.tensor(marker, device=input_ids.device)).all(dim=2)
    last = _last_true(match)
    return torch.where(last >= 0, last + m, out)
