"""One SFT micro-step: forward, the weighted loss terms, backward (spec section 4).

    w_gen * InfoNCE(gen_q, gen_t) + w_disc * InfoNCE(disc_q, disc_t)
    + w_ntp_query * NTP(query) + w_ntp_target * NTP(target)
    [+ w_genq_disct * InfoNCE(gen_q, disc_t) + w_discq_gent * InfoNCE(disc_q, gen_t)]

B pairs go through ONE teacher-forced forward of 2B rows (queries then targets; last layer
only). With `loss.grad_cache_chunk` (GradCache) the whole micro-batch is scored together
while only one chunk of it holds activations at a time.
"""
from __future__ import annotations

import contextlib

import torch

from umer1.engine.positions import gather, normalize
from umer1.train.base.dist import all_sum
from umer1.train.sft.collate import PairBatch
from umer1.train.sft.config import LossConfig
from umer1.train.sft.losses import info_nce, ntp_loss


def embed(tf, side) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(disc, gen, logprobs) of one forward over a SideBatch."""
    out = tf(side.inputs, side.score_mask)
    disc = normalize(gather(out.hidden, side.disc_pos))
    gen = normalize(gather(out.hidden, side.gen_pos))
    return disc, gen, out.logprobs


def contrastive_terms(disc: torch.Tensor, gen: torch.Tensor, n: int, loss: LossConfig) -> dict:
    """The InfoNCE terms with non-zero weight; rows [0, n) queries, [n, 2n) targets."""
    dq, dt, gq, gt = disc[:n], disc[n:], gen[:n], gen[n:]
    pairs = {"con_gen": (gq, gt), "con_disc": (dq, dt),
             "con_genq_disct": (gq, dt), "con_discq_gent": (dq, gt)}
    return {k: info_nce(a, b, temperature=loss.temperature)
            for k, (a, b) in pairs.items() if getattr(loss, k)}


def ntp_terms(logprobs, mask, n: int, norm_q: float, norm_t: float, loss: LossConfig) -> dict:
    out = {}
    if loss.ntp_query:
        out["ntp_query"] = ntp_loss(logprobs[:n], mask[:n], normalizer=norm_q)
    if loss.ntp_target:
        out["ntp_target"] = ntp_loss(logprobs[n:], mask[n:], normalizer=norm_t)
    return out


def weighted(terms: dict, loss: LossConfig) -> torch.Tensor:
    return sum(getattr(loss, k) * v for k, v in terms.items())


def ntp_normalizers(acc, chunks: list[PairBatch]) -> tuple[float, float]:
    """Global token counts of each side divided by the number of processes (see ntp_loss)."""
    q = t = 0
    for c in chunks:
        n = len(c)
        q += int(c.side.score_mask[:n].sum())
        t += int(c.side.score_mask[n:].sum())
    return all_sum(acc, q) / acc.num_processes, all_sum(acc, t) / acc.num_processes


def micro_step(acc, tf, chunks: list[PairBatch], loss: LossConfig) -> dict[str, float]:
    """Forward + backward for one micro-batch (one chunk, or several with GradCache)."""
    norm_q, norm_t = ntp_normalizers(acc, chunks)
    if len(chunks) == 1:
        c = chunks[0]
        disc, gen, lp = embed(tf, c.side)
        terms = {**contrastive_terms(disc, gen, len(c), loss),
                 **ntp_terms(lp, c.side.score_mask, len(c), norm_q, norm_t, loss)}
        acc.backward(weighted(terms, loss))
        return {k: float(v.detach()) for k, v in terms.items()}
    # GradCache: 1) embeddings of every chunk without activations kept
    with torch.no_grad():
        outs = [embed(tf, c.side)[:2] for c in chunks]
    sizes = [len(c) for c in chunks]
    q_d = torch.cat([d[:n] for (d, _), n in zip(outs, sizes)])
    t_d = torch.cat([d[n:] for (d, _), n in zip(outs, sizes)])
    q_g = torch.cat([g[:n] for (_, g), n in zip(outs, sizes)])
    t_g = torch.cat([g[n:] for (_, g), n in zip(outs, sizes)])
    disc = torch.cat([q_d, t_d]).requires_grad_()
    gen = torch.cat([q_g, t_g]).requires_grad_()
    # 2) the contrastive loss of the whole micro-batch, differentiated w.r.t. the embeddings
    con = contrastive_terms(disc, gen, sum(sizes), loss)
    if con:
        weighted(con, loss).backward()
    g_disc = disc.grad if disc.grad is not None else torch.zeros_like(disc)
    g_gen = gen.grad if gen.grad is not None else torch.zeros_like(gen)
    # 3) per chunk: re-forward with activations, push the cached gradients + NTP through
    N, logged = sum(sizes), {k: float(v.detach()) for k, v in con.items()}
    start = 0
    for i, c in enumerate(chunks):
        n = sizes[i]
        rows = torch.cat([torch.arange(start, start + n), torch.arange(N + start, N + start + n)])
        last = i == len(chunks) - 1
        sync = contextlib.nullcontext() if last else acc.no_sync(tf)
        with sync:
            d, g, lp = embed(tf, c.side)
            ntp = ntp_terms(lp, c.side.score_mask, n, norm_q, norm_t, loss)
            surrogate = (d * g_disc[rows].to(d)).sum() + (g * g_gen[rows].to(g)).sum()
            if ntp:
                surrogate = surrogate + weighted(ntp, loss)
            acc.backward(surrogate)
        for k, v in ntp.items():
            logged[k] = logged.get(k, 0.0) + float(v.detach())
        start += n
    return logged
