"""Ranking candidates by cosine similarity, and the score a random ranking would get.

Embeddings are L2-normalised, so the inner product is the cosine; candidates are ordered by
descending score. Equal scores are ranked against the gold (`rank_order`): a candidate tied
with a relevant one ranks above it, so a model whose embeddings are all identical scores at
or below chance instead of getting every gold listed first. (The official harness sorts with
np.argsort, whose order among ties is unspecified; docs/mmeb-v2-sources.md, section 5.)
Results never depend on hash seeds or sort internals.
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np

from umer1.eval.metrics import KS, query_metrics

TOPK = max(KS)        # predictions kept per query (all metrics are at k <= 10)


def rank_order(scores: np.ndarray, relevance: Mapping[int, float] | None = None) -> np.ndarray:
    """Positions by descending score. Among equal scores a candidate ranks BELOW every
    non-relevant one it ties with, and below tied relevant ones of higher relevance (the
    pessimistic order: a tie never earns credit), then by ascending position.

    `relevance`: position -> relevance of the relevant candidates (None: position order).
    """
    scores = np.asarray(scores, dtype=np.float64)
    return np.lexsort((_tie_key(scores.shape, relevance), -scores))


def _tie_key(shape, relevance: Mapping[int, float] | None) -> np.ndarray:
    key = np.full(shape, -np.inf)       # non-relevant first among equal scores
    if relevance:
        key[list(relevance)] = list(relevance.values())
    return key


def rank(q: np.ndarray, c: np.ndarray, pools: list[list[int]] | None,
         labels: Sequence[Mapping[int, float]] | None = None, topk: int = TOPK,
         cells: int = 1 << 22) -> tuple[list[list[int]], list[list[float]]]:
    """Top-k candidate indices and scores per query (cosine, ties ranked against the gold:
    see `rank_order`; `labels` are each query's relevant candidates with their relevance).

    Scores are computed once per distinct candidate embedding, so identical embeddings get
    bit-identical scores and tie exactly, whatever the BLAS kernel's summation order.
    """
    c_unique, inverse = np.unique(c, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    preds, scores = [], []
    if pools is not None:
        for i, pool in enumerate(pools):
            rows, back = np.unique(inverse[pool], return_inverse=True)
            s = (c_unique[rows] @ q[i])[back.reshape(-1)]
            rel = None
            if labels is not None:
                rel = {p: labels[i][j] for p, j in enumerate(pool) if j in labels[i]}
            order = rank_order(s, rel)[:topk]
            preds.append([pool[j] for j in order])
            scores.append([float(s[j]) for j in order])
        return preds, scores
    block = max(1, cells // max(len(c), 1))    # bounds the (queries x candidates) score matrix
    for start in range(0, len(q), block):
        s = (q[start:start + block] @ c_unique.T)[:, inverse].astype(np.float64)
        key = np.full(s.shape, -np.inf)
        if labels is not None:
            for r, lab in enumerate(labels[start:start + block]):
                key[r] = _tie_key(len(c), lab)
        order = np.lexsort((key, -s), axis=-1)[:, :topk]
        preds.extend(order.tolist())
        scores.extend(np.take_along_axis(s, order, axis=1).tolist())
    return preds, scores


def tied_top(scores: Sequence[Sequence[float]]) -> int:
    """Queries whose best score is shared by another candidate (a constant or collapsed
    model ties everywhere; a working one almost never)."""
    return sum(1 for sc in scores if len(sc) > 1 and sc[0] == sc[1])


def chance_level(spec, data, seed: int = 0, draws: int = 20) -> float:
    """The expected main metric under a uniformly random ranking of each query's candidates.

    Exact for hit, precision, recall and both NDCGs (by linearity of expectation: each
    candidate is at each position with probability 1/n); seeded simulation for the others.
    """
    name, k = spec.metric.split("@")
    k = int(k)
    n_all = len(data.candidates)
    vals = []
    rng = np.random.default_rng(seed)
    for i, lab in enumerate(data.labels):
        pool = data.pools[i] if data.pools is not None else None
        n = len(pool) if pool is not None else n_all
        inpool = [v for j, v in lab.items() if pool is None or j in pool]
        m, top = len(inpool), min(k, n)
        if name == "hit":
            vals.append(1.0 - math.comb(n - m, top) / math.comb(n, top) if n else 0.0)
        elif name in ("precision", "recall"):
            found = top * m / n if n else 0.0
            vals.append(found / k if name == "precision" else (found / len(lab) if lab else 1.0))
        elif name.startswith("ndcg"):
            gain = (lambda g: g) if name == "ndcg_linear" else (lambda g: 2.0 ** g - 1.0)
            gains = [gain(v if data.graded else 1.0) for v in lab.values()]
            ideal = sum(g / math.log2(r + 2) for r, g in enumerate(sorted(gains, reverse=True)[:k]))
            pos = sum(1.0 / math.log2(r + 2) for r in range(top)) / n if n else 0.0
            in_gains = [gain(v if data.graded else 1.0) for v in inpool]
            vals.append(sum(in_gains) * pos / ideal if ideal > 0 else 0.0)
        else:
            cands = list(pool) if pool is not None else list(range(n_all))
            sims = [query_metrics([cands[j] for j in rank_order(rng.random(n))[:TOPK]], lab,
                                  graded=data.graded, ks=(k,))[spec.metric] for _ in range(draws)]
            vals.append(float(np.mean(sims)))
    return float(np.mean(vals)) if vals else 0.0


def at_chance(score: float, chance: float, n: int) -> bool:
    """Within noise of random: under chance + max(0.02, two binomial standard errors)."""
    tol = max(0.02, 2 * math.sqrt(max(chance * (1 - chance), 1e-12) / max(n, 1)))
    return score <= chance + tol
