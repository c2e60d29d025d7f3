"""The GRPO policy loss as pure tensor functions (spec section 5)."""
from __future__ import annotations

import torch


def k3_kl(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """Per-token k3 estimator of KL(pi || ref): exp(ref - logp) - (ref - logp) - 1 (>= 0)."""
    d = ref_logp - logp
    return torch.exp(d) - d - 1


def grpo_loss(logp: torch.Tensor, old_logp: torch.Tensor, advantages: torch.Tensor,
              mask: torch.Tensor, *, max_completion_length: int, epsilon_low: float = 0.2,
              epsilon_high: float = 0.28, beta: float = 0.0, ref_logp: torch.Tensor | None = None
              ) -> tuple[torch.Tensor, dict]:
    """Mean over rollouts of sum_t(clipped surrogate + beta * k3) / max_completion_length.

    logp, old_logp, ref_logp, mask: (R, L) (mask selects scored completion tokens);
    advantages: (R,).
    """
    mask = mask.to(logp.dtype)
    ratio = torch.exp(logp - old_logp)
    adv = advantages.to(logp.dtype).unsqueeze(1)
    surrogate = torch.minimum(ratio * adv, torch.clamp(ratio, 1 - epsilon_low, 1 + epsilon_high) * adv)
    per_token = -surrogate
    stats = {}
    if beta > 0:
        if ref_logp is None:
            raise ValueError("beta > 0 needs reference log-probs")
        kl = k3_kl(logp, ref_logp)
        per_token = per_token + beta * kl
        stats["kl"] = float((kl.detach() * mask).sum() / mask.sum().clamp(min=1))
    clipped = ((ratio.detach() < 1 - epsilon_low) | (ratio.detach() > 1 + epsilon_high)).to(mask.dtype)
    stats["clip_fraction"] = float((clipped * mask).sum() / mask.sum().clamp(min=1))
    loss = ((per_token * mask).sum(dim=1) / max_completion_length).mean()
    return loss, stats
