"""Ranking candidates by cosine similarity, and the score a random ranking would get.

Embeddings are L2-normalised, so the inner product is the cosine; candidates are ordered by
descending score, and equal scores keep ascending candidate position (`rank_order`), so
results never depend on hash seeds or sort internals.
"""
from __future__ import annotations

import math

import numpy as np

from umer1.eval.metrics import KS, query_metrics

TOPK = max(KS)        # predictions kept per query (all metrics are at k <= 10)


def rank_order(scores: np.ndarray) -> np.ndarray:
    """Candidate positions by descending score; ties keep ascending candidate position."""
    return np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")


def rank(q: np.ndarray, c: np.ndarray, pools: list[list[int]] | None, topk: int = TOPK,
         block: int = 256) -> tuple[list[list[int]], list[list[float]]]:
    """Top-k candidate indices and scores per query (cosine; ties by ascending candidate index)."""
    preds, scores = [], []
    if pools is not None:
        for i, pool in enumerate(pools):
            s = c[pool] @ q[i]
            order = rank_order(s)[:topk]
            preds.append([pool[j] for j in order])
            scores.append([float(s[j]) for j in order])
        return preds, scores
    for start in range(0, len(q), block):
        s = q[start:start + block] @ c.T
        order = np.argsort(-s, axis=1, kind="stable")[:, :topk]
        preds.extend(order.tolist())
        scores.extend(np.take_along_axis(s, order, axis=1).tolist())
    return preds, scores


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
