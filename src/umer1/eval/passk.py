"""pass@k over K sampled generative query embeddings, and the disc-or-gen oracle.

A sample is correct when it ranks a gold candidate first (hit@1 of that sample, with the
task's own ranking). With c correct samples out of K for a query:
- `unbiased` (the reported curve): pass@k = 1 - C(K - c, k) / C(K, k), the probability that a
  random k-subset of the K samples holds a correct one (the estimator of Chen et al., 2021),
  averaged over queries. It uses all K samples for every k, so it has less variance than:
- `first_k`: whether any of the first k samples (in sampling order) is correct.
Both are exact at k = K. The oracle counts a query when disc OR gen does: per query the larger
of the two modes' values of the task's main metric (for hit@1: either ranks the gold first).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from umer1.eval.ranking import rank


def sample_correct(q_samples: np.ndarray, c: np.ndarray, pools, labels: Sequence[Mapping]) -> np.ndarray:
    """(Q, K) bool: sample k of query i ranks a gold candidate first."""
    Q, K = q_samples.shape[:2]
    out = np.zeros((Q, K), bool)
    for k in range(K):
        preds, _ = rank(np.ascontiguousarray(q_samples[:, k]), c, pools, labels, topk=1)
        out[:, k] = [p[0] in lab for p, lab in zip(preds, labels)]
    return out


def unbiased_pass_at_k(n: int, c: int, k: int) -> float:
    """1 - C(n - c, k) / C(n, k), computed as a stable product."""
    if n - c < k:
        return 1.0
    return 1.0 - float(np.prod(1.0 - k / np.arange(n - c + 1, n + 1)))


def coverage_curve(correct: np.ndarray) -> dict:
    """The curves for k = 1..K from a (Q, K) matrix of per-sample correctness."""
    Q, K = correct.shape
    counts = correct.sum(axis=1)
    ks = list(range(1, K + 1))
    unbiased = [float(np.mean([unbiased_pass_at_k(K, int(c), k) for c in counts])) if Q else 0.0
                for k in ks]
    first = [float(correct[:, :k].any(axis=1).mean()) if Q else 0.0 for k in ks]
    return {"k": ks, "unbiased": unbiased, "first_k": first, "num_queries": int(Q),
            "num_samples": int(K), "estimator": "unbiased"}


def oracle(per_mode: Mapping[str, Sequence[float]]) -> float:
    """Mean over queries of the best mode's per-query value."""
    values = np.array([list(v) for v in per_mode.values()], dtype=np.float64)
    return float(values.max(axis=0).mean()) if values.size else 0.0
