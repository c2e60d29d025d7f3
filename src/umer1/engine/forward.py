"""The teacher-forced forward shared by SFT and RL: last-layer states plus token log-probs.

Only the final-norm states are materialised (not every layer's), and the vocabulary
projection runs only at the positions whose next token is scored, so a long prompt with
images costs no (length x vocab) logits. Wrap `TeacherForced` (not the inner model) with
accelerate/DDP/DeepSpeed/FSDP so gradient synchronisation sees this forward.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass
class TeacherForcedOutput:
    hidden: torch.Tensor                 # (B, L, H) final-norm states
    logprobs: torch.Tensor | None        # (B, L): log p(token t | tokens < t) where scored, else 0
    entropy_sum: torch.Tensor | None = None


class TeacherForced(nn.Module):
    def __init__(self, model):
        super().__init__()
        self.model = model  # a transformers Qwen2-VL-family model, possibly PEFT-wrapped

    @property
    def hf(self):
        return self.model.get_base_model() if hasattr(self.model, "get_base_model") else self.model

    def forward(self, batch: dict, score_mask: torch.Tensor | None = None, *,
                temperature: float = 1.0) -> TeacherForcedOutput:
        """`score_mask[b, t]` True means: return log p(input_ids[b, t] | input_ids[b, :t]).
        Position 0 can never be scored. `temperature` divides the logits (as in sampling)."""
        hf = self.hf
        hidden = hf.model(**batch, use_cache=False).last_hidden_state
        if score_mask is None:
            return TeacherForcedOutput(hidden, None)
        ids = batch["input_ids"]
        mask = score_mask.clone()
        mask[:, 0] = False
        b, t = mask.nonzero(as_tuple=True)
        logits = hf.lm_head(hidden[b, t - 1]).float()
        if temperature != 1.0:
            logits = logits / temperature
        lp = torch.log_softmax(logits, dim=-1)
        token_lp = lp.gather(1, ids[b, t].unsqueeze(1)).squeeze(1)
        out = torch.zeros(ids.shape, dtype=token_lp.dtype, device=hidden.device)
        out = out.index_put((b, t), token_lp)
        return TeacherForcedOutput(hidden, out)
