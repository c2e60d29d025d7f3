"""What a router sees about a query before it reasons: its disc embedding and statistics of its
disc scores against the corpus.

The statistics are read from the top `TOP_K` scores a search returns anyway (evaluation and an
index both return the ten best), so routing costs no extra pass over the corpus:
- top1: the best cosine;
- margin: best minus second best (0 when the two tie: the disc ranking is unsure);
- entropy: of the softmax of the top-k scores at the contrastive training temperature (0.02,
  `umer1.train.sft.losses.TEMPERATURE`), divided by log(k) so it lies in [0, 1].
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

TOP_K = 10
TEMPERATURE = 0.02
STATS = ("top1", "margin", "entropy")


def score_stats(top_scores: Sequence[Sequence[float]]) -> np.ndarray:
    """(N, 3) float32: top1, margin and normalised entropy per query from its descending scores."""
    out = np.zeros((len(top_scores), len(STATS)), np.float32)
    for i, s in enumerate(top_scores):
        s = np.asarray(s[:TOP_K], np.float64)
        if s.size == 0:
            continue
        out[i, 0] = s[0]
        out[i, 1] = s[0] - s[1] if s.size > 1 else 1.0   # a lone candidate: nothing to doubt
        if s.size > 1:
            z = (s - s.max()) / TEMPERATURE
            p = np.exp(z) / np.exp(z).sum()
            out[i, 2] = float(-(p * np.log(np.clip(p, 1e-300, None))).sum() / math.log(s.size))
    return out


def gate_features(disc_embeddings: np.ndarray, stats: np.ndarray) -> np.ndarray:
    """The learned gate's input: the disc embedding followed by the score statistics."""
    return np.concatenate([np.asarray(disc_embeddings, np.float32).reshape(len(stats), -1),
                           np.asarray(stats, np.float32)], axis=1)
