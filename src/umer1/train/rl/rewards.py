"""RL rewards of UME-R1 (spec section 5), as pure tensor functions.

R = R_format + R_emb. R_format is 1 when a completion matches
`<think>.*?</think>.*?<answer>.*?<gen_emb>` (dot matches newlines, case-sensitive). R_emb, for a
rollout o of pair g on one side, compares e(o) with the G rollouts of pair g's OTHER side (S+) and
with the other side's rollouts of every other pair (S-, gathered over processes):
rank = |S+ ∩ top_G(S+ ∪ S-)| / G, gap = mean(S+) - mean(S-), R_emb = rank x gap.

Rules the reference leaves open, fixed here:
- Ties in top-G: candidates are ordered by similarity, and among EXACTLY equal similarities the
  negatives come first. A positive tied with a negative at the cut-off therefore does not count,
  so a collapsed model (all embeddings equal) scores rank 0, not 1.
- Rollouts without an embedding (no generated `<gen_emb>`, flagged by `valid=False`) get
  R_emb = 0 and are left out of every other rollout's S+ and S-. When some positives are missing,
  the top-k uses k = the number of valid positives and rank is divided by that k.
- Empty S- (one pair in the gathered micro-batch, or all its negatives invalid): there is no
  contrast to measure, so gap = 0, rank = 1 and R_emb = 0 (a warning is logged).
"""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Sequence

import torch

log = logging.getLogger(__name__)

FORMAT_PATTERN = re.compile(r"<think>.*?</think>.*?<answer>.*?<gen_emb>", re.DOTALL)
ADVANTAGE_EPS = 1e-4
VARIANTS = ("rank_x_gap", "rank", "gap", "threshold")


def format_reward(texts: Sequence[str]) -> torch.Tensor:
    """1.0 for each completion in the required format, else 0.0 (float32, shape (len(texts),))."""
    return torch.tensor([1.0 if FORMAT_PATTERN.search(t) else 0.0 for t in texts])


@dataclass
class EmbeddingReward:
    """Per-rollout terms, each of shape (N, G) for the N local pairs."""
    reward: torch.Tensor      # R_emb under the chosen variant
    rank: torch.Tensor
    gap: torch.Tensor
    pos_mean: torch.Tensor    # mean(S+)
    num_negatives: torch.Tensor  # |S-| actually used


def embedding_reward(own: torch.Tensor, other: torch.Tensor, own_index: torch.Tensor, *,
                     own_valid: torch.Tensor | None = None, other_valid: torch.Tensor | None = None,
                     variant: str = "rank_x_gap", threshold: float = 0.5) -> EmbeddingReward:
    """R_emb for every rollout of one side.

    own:       (N, G, D) L2-normalised embeddings of this side's rollouts for the local pairs.
    other:     (M, G', D) the OTHER side's rollouts of ALL pairs of the micro-batch, gathered
               over processes (M >= N); `own_index[i]` is the row of `other` that is pair i's.
    *_valid:   (N, G) / (M, G') bool, False for rollouts with no embedding.
    variant:   "rank_x_gap" (the method), "rank", "gap", or "threshold" (1 if mean(S+) >=
               `threshold`, else 0: the fixed-threshold baseline the method improves on).
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown reward variant {variant!r}; choose one of {', '.join(VARIANTS)}")
    own, other = own.float(), other.float().to(own.device)
    N, G, _ = own.shape
    M, Gp, _ = other.shape
    own_valid = torch.ones(N, G, dtype=torch.bool, device=own.device) if own_valid is None \
        else own_valid.to(own.device)
    other_valid = torch.ones(M, Gp, dtype=torch.bool, device=own.device) if other_valid is None \
        else other_valid.to(own.device)
    own_index = torch.as_tensor(own_index, device=own.device).long()

    sims = torch.einsum("ngd,mkd->ngmk", own, other)                     # (N, G, M, G')
    is_pos = torch.zeros(N, M, dtype=torch.bool, device=own.device)
    is_pos[torch.arange(N, device=own.device), own_index] = True
    is_pos = is_pos[:, None, :, None].expand(N, G, M, Gp)
    cand_valid = other_valid[None, None].expand(N, G, M, Gp)
    pos = is_pos & cand_valid
    neg = ~is_pos & cand_valid

    n_pos = pos.sum(dim=(2, 3))                                          # (N, G)
    n_neg = neg.sum(dim=(2, 3))
    zero = torch.zeros_like(sims)
    pos_mean = torch.where(pos, sims, zero).sum(dim=(2, 3)) / n_pos.clamp(min=1)
    neg_mean = torch.where(neg, sims, zero).sum(dim=(2, 3)) / n_neg.clamp(min=1)
    gap = pos_mean - neg_mean

    # top-k with k = number of valid positives; ties: negatives first (see module docstring).
    flat = sims.reshape(N, G, M * Gp)
    flat_pos = pos.reshape(N, G, M * Gp)
    flat_valid = (pos | neg).reshape(N, G, M * Gp)
    score = torch.where(flat_valid, flat, torch.full_like(flat, float("-inf")))
    # Put negatives before positives, then a stable descending sort keeps that order in ties.
    pre = torch.argsort(flat_pos.int(), dim=-1, stable=True)
    score_pre = score.gather(-1, pre)
    order = torch.argsort(score_pre, dim=-1, descending=True, stable=True)
    ranked_pos = flat_pos.gather(-1, pre).gather(-1, order)              # (N, G, M*G') bool
    k = n_pos
    cols = torch.arange(M * Gp, device=own.device).expand_as(ranked_pos)
    in_top = cols < k.unsqueeze(-1)
    rank = (ranked_pos & in_top).sum(-1).float() / k.clamp(min=1).float()

    no_neg = n_neg == 0
    has_emb = own_valid & (n_pos > 0)
    if bool((no_neg & has_emb).any()):
        log.warning("%d rollouts have no negatives (one pair in the gathered micro-batch?): "
                    "their embedding reward is 0", int((no_neg & has_emb).sum()))
    rank = torch.where(no_neg, torch.ones_like(rank), rank)
    gap = torch.where(no_neg, torch.zeros_like(gap), gap)

    if variant == "rank_x_gap":
        reward = rank * gap
    elif variant == "rank":
        reward = torch.where(no_neg, torch.zeros_like(rank), rank)
    elif variant == "gap":
        reward = gap
    else:
        reward = (pos_mean >= threshold).float()
    usable = has_emb
    zero_nd = torch.zeros_like(reward)
    return EmbeddingReward(reward=torch.where(usable, reward, zero_nd),
                           rank=torch.where(usable, rank, zero_nd),
                           gap=torch.where(usable, gap, zero_nd),
                           pos_mean=torch.where(usable, pos_mean, zero_nd),
                           num_negatives=torch.where(usable, n_neg, torch.zeros_like(n_neg)))


def group_advantages(rewards: torch.Tensor, eps: float = ADVANTAGE_EPS) -> torch.Tensor:
    """(R - group mean) / (group SAMPLE std + eps) over the last dim (the G rollouts of a prompt).

    A group of one has no spread: its advantage is 0 (with a warning).
    """
    rewards = rewards.float()
    if rewards.shape[-1] < 2:
        log.warning("groups of one rollout have no spread: advantages are 0")
        return torch.zeros_like(rewards)
    mean = rewards.mean(dim=-1, keepdim=True)
    std = rewards.std(dim=-1, keepdim=True)   # unbiased (divides by G - 1)
    return (rewards - mean) / (std + eps)


def zero_spread_fraction(rewards: torch.Tensor) -> float:
    """Fraction of groups (last dim) whose rewards are all equal: they give no gradient."""
    spread = rewards.max(dim=-1).values - rewards.min(dim=-1).values
    return float((spread == 0).float().mean()) if spread.numel() else 0.0


@dataclass
class SideRewards:
    """Everything the trainer needs for one side (N, G each)."""
    total: torch.Tensor
    fmt: torch.Tensor
    emb: EmbeddingReward
    advantages: torch.Tensor


def both_sides(q_emb: torch.Tensor, t_emb: torch.Tensor, q_all: torch.Tensor, t_all: torch.Tensor,
               own_index: torch.Tensor, q_fmt: torch.Tensor, t_fmt: torch.Tensor, *,
               q_valid=None, t_valid=None, q_all_valid=None, t_all_valid=None,
               variant: str = "rank_x_gap", threshold: float = 0.5) -> tuple[SideRewards, SideRewards]:
    """Rewards and advantages of the query side and the target side, with the same rule.

    q_emb / t_emb: (N, G, D) local rollouts; q_all / t_all: (M, G, D) gathered over processes.
    The query side is scored against the gathered targets and vice versa.
    """
    out = []
    for own, own_valid, other, other_valid, fmt in (
            (q_emb, q_valid, t_all, t_all_valid, q_fmt), (t_emb, t_valid, q_all, q_all_valid, t_fmt)):
        emb = embedding_reward(own, other, own_index, own_valid=own_valid, other_valid=other_valid,
                               variant=variant, threshold=threshold)
        total = fmt.to(emb.reward.device).float() + emb.reward
        out.append(SideRewards(total=total, fmt=fmt.float(), emb=emb,
                               advantages=group_advantages(total)))
    return out[0], out[1]
