"""The SFT losses as pure tensor functions (spec section 4).

- `info_nce`: symmetric (CLIP-style) InfoNCE at temperature 0.02 (logit scale 50) over
  embeddings gathered from every process. The gather keeps gradients: its backward sums each
  process's gradient for a shard back onto the process that owns it, and each process scores
  its own rows against all columns with labels offset by its rank. With the usual gradient
  averaging of data parallelism, the update then equals that of one process holding the
  whole global batch.
- `ntp_loss`: token cross-entropy over the scored (assistant) tokens, as a mean over tokens.
"""
from __future__ import annotations

import torch
import torch.distributed as dist
import torch.nn.functional as F

TEMPERATURE = 0.02


def _dist_world() -> tuple[int, int]:
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


class _GatherWithGrad(torch.autograd.Function):
    """all_gather (rows padded to the largest process) whose backward all-reduces (sums) the
    gradient and returns the own rows."""

    @staticmethod
    def forward(ctx, x, size: int):
        rank, world = _dist_world()
        ctx.rank, ctx.n, ctx.size = rank, x.shape[0], size
        if x.shape[0] < size:
            x = torch.cat([x, x.new_zeros((size - x.shape[0],) + tuple(x.shape[1:]))])
        out = [torch.empty_like(x) for _ in range(world)]
        dist.all_gather(out, x.contiguous())
        return torch.cat(out, dim=0)

    @staticmethod
    def backward(ctx, grad):
        grad = grad.contiguous()
        dist.all_reduce(grad, op=dist.ReduceOp.SUM)
        start = ctx.rank * ctx.size
        return grad[start:start + ctx.n], None


def gather_with_grad(x: torch.Tensor) -> tuple[torch.Tensor, int, torch.Tensor]:
    """(rows of every process in rank order, offset of this process's rows, valid-row mask).

    Processes may hold different numbers of rows (a collator may drop a sample): rows are
    padded to the largest count and the mask marks the real ones. A no-op without
    torch.distributed.
    """
    rank, world = _dist_world()
    if world == 1:
        return x, 0, torch.ones(x.shape[0], dtype=torch.bool, device=x.device)
    n = torch.tensor([x.shape[0]], device=x.device)
    sizes = [torch.zeros_like(n) for _ in range(world)]
    dist.all_gather(sizes, n)
    sizes = [int(s) for s in sizes]
    size = max(sizes)
    valid = torch.cat([torch.arange(size, device=x.device) < s for s in sizes])
    return _GatherWithGrad.apply(x, size), rank * size, valid


def info_nce(q: torch.Tensor, t: torch.Tensor, *, temperature: float = TEMPERATURE,
             gather: bool = True) -> torch.Tensor:
    """Symmetric InfoNCE: 1/2 [CE(Q T^T / tau, I) + CE(T Q^T / tau, I)] for this process's rows.

    `q`, `t`: (B, D) L2-normalised embeddings of matching pairs (row i of q matches row i of t).
    The value is the mean over this process's rows; averaged over processes it is the loss of
    the global batch (exactly so when every process holds the same number of rows).
    """
    if q.shape != t.shape:
        raise ValueError(f"query and target embeddings differ in shape: {tuple(q.shape)} vs {tuple(t.shape)}")
    q, t = q.float(), t.float()
    if gather:
        q_all, offset, valid = gather_with_grad(q)
        t_all, _, _ = gather_with_grad(t)
    else:
        q_all, t_all, offset = q, t, 0
        valid = torch.ones(q.shape[0], dtype=torch.bool, device=q.device)
    if q.shape[0] == 0:  # nothing of our own to score; keep the graph for the collective
        return (q_all.sum() + t_all.sum()) * 0.0
    labels = torch.arange(q.shape[0], device=q.device) + offset
    scale = 1.0 / temperature
    pad = torch.where(valid, 0.0, float("-inf"))  # padded rows of other processes are no candidates
    loss_qt = F.cross_entropy(scale * q @ t_all.T + pad, labels)
    loss_tq = F.cross_entropy(scale * t @ q_all.T + pad, labels)
    return 0.5 * (loss_qt + loss_tq)


def ntp_loss(logprobs: torch.Tensor, mask: torch.Tensor, *,
             normalizer: torch.Tensor | float | None = None) -> torch.Tensor:
    """Mean next-token cross-entropy: -sum(logprobs * mask) / normalizer.

    `logprobs` (B, L) holds log p(token) at scored positions (as `umer1.engine.forward` returns);
    `mask` (B, L) marks them. `normalizer` defaults to this batch's count of scored tokens;
    a trainer running several processes passes (global count / world size) so that averaging
    the processes' gradients gives the token mean over the global batch.
    """
    mask = mask.to(logprobs.dtype)
    total = -(logprobs * mask).sum()
    if normalizer is None:
        normalizer = mask.sum()
    return total / torch.clamp(torch.as_tensor(normalizer, dtype=total.dtype,
                                               device=total.device), min=1.0)
