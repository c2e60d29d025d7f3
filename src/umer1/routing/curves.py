"""Cost-quality curves from per-query outcomes in both modes.

Given each query's metric value in disc mode and in gen mode and the tokens its generation
cost, routing the k queries a router ranks first gives the mean metric
    mean(disc) + sum over those k of (gen - disc) / N
and spends their tokens. A curve lists it for every k from 0 (always-disc) to N (always-gen).
The oracle reasons for the queries where gen is strictly better, best gain first; a random
router's expected curve is the straight line between the two ends.
"""
from __future__ import annotations

import numpy as np


def order_by(priority: np.ndarray) -> np.ndarray:
    """Query positions, highest priority first (ties: lower position first)."""
    return np.argsort(-np.asarray(priority, np.float64), kind="stable")


def curve(order: np.ndarray, disc: np.ndarray, gen: np.ndarray, tokens: np.ndarray) -> dict:
    """{"fraction", "metric", "tokens_per_query"} for k = 0..N queries reasoned in `order`."""
    disc, gen = np.asarray(disc, np.float64), np.asarray(gen, np.float64)
    n = len(disc)
    gain = np.concatenate([[0.0], np.cumsum((gen - disc)[order])])
    spent = np.concatenate([[0.0], np.cumsum(np.asarray(tokens, np.float64)[order])])
    return {"fraction": (np.arange(n + 1) / max(n, 1)).tolist(),
            "metric": ((disc.sum() + gain) / max(n, 1)).tolist(),
            "tokens_per_query": (spent / max(n, 1)).tolist()}


def oracle_order(disc: np.ndarray, gen: np.ndarray) -> tuple[np.ndarray, int]:
    """Queries by gain of gen over disc, largest first, and how many gain at all."""
    gain = np.asarray(gen, np.float64) - np.asarray(disc, np.float64)
    return order_by(gain), int((gain > 0).sum())


def oracle_curve(disc: np.ndarray, gen: np.ndarray, tokens: np.ndarray) -> dict:
    """The best any router could do with at most k queries reasoned (it stops once gen stops
    helping), and the oracle point itself."""
    order, helped = oracle_order(disc, gen)
    c = curve(order, disc, gen, tokens)
    c["metric"] = np.maximum.accumulate(c["metric"]).tolist()
    c["point"] = {"fraction": c["fraction"][helped], "metric": c["metric"][helped],
                  "tokens_per_query": c["tokens_per_query"][helped]}
    return c


def bootstrap_se(order: np.ndarray, disc: np.ndarray, gen: np.ndarray, ks: np.ndarray,
                 draws: int = 1000, seed: int = 0) -> np.ndarray:
    """Standard error of the metric at each k in `ks` (the set of routed queries fixed by
    `order`), resampling queries with replacement, seeded."""
    disc, gen = np.asarray(disc, np.float64), np.asarray(gen, np.float64)
    n = len(disc)
    if n == 0:
        return np.zeros(len(ks))
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n)
    values = np.where(rank[None, :] < np.asarray(ks)[:, None], gen[None, :], disc[None, :])
    idx = np.random.default_rng(seed).integers(0, n, size=(draws, n))
    return values[:, idx].mean(-1).std(-1, ddof=1)


def first_reaching(c: dict, target: float, tol: float = 1e-12) -> float | None:
    """The smallest fraction reasoned at which curve `c` reaches `target`, or None."""
    for f, m in zip(c["fraction"], c["metric"]):
        if m >= target - tol:
            return f
    return None
