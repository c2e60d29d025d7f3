"""Retrieval metrics with the MMEB-V2 (VLM2Vec) definitions: pure functions, no model.

Per query, then the arithmetic mean over queries. Ranks start at 1. A prediction is a strict
order of candidate ids (best first); top-k is its first k entries. Labels are the relevant
candidate ids, each paired with ITS OWN relevance (graded tasks) - the reference harness
paired a set-reordered label list with relevances by position, which made graded NDCG depend
on the hash seed. Labels with relevance 0 count as relevant for hit / precision / recall /
map / mrr but add nothing to NDCG.
"""
from __future__ import annotations

import math
from typing import Hashable, Iterable, Mapping, Sequence

import numpy as np

KS = (1, 5, 10)
METRIC_NAMES = ("hit", "ndcg_linear", "ndcg_exponential", "precision", "recall", "f1", "map", "mrr")


def label_relevance(labels: Sequence[Hashable], rel_scores: Sequence[float] | None = None
                    ) -> dict:
    """Labels de-duplicated in their given order, each with its own relevance (1.0 if binary).

    A label listed twice keeps its highest relevance.
    """
    if rel_scores is not None and len(rel_scores) != len(labels):
        raise ValueError(f"{len(labels)} labels but {len(rel_scores)} relevance scores")
    out: dict = {}
    for i, lab in enumerate(labels):
        rel = 1.0 if rel_scores is None else float(rel_scores[i])
        out[lab] = max(out.get(lab, rel), rel)
    return out


def query_metrics(prediction: Sequence[Hashable], labels: Mapping | Sequence[Hashable],
                  rel_scores: Sequence[float] | None = None, *, graded: bool | None = None,
                  ks: Iterable[int] = KS) -> dict[str, float]:
    """All metrics at every k for one query.

    `labels` is a mapping label -> relevance, or a sequence of labels (with `rel_scores`).
    `graded` picks the NDCG gain: the label's relevance (True) or 1 (False); by default it is
    graded exactly when relevances were given.
    """
    if isinstance(labels, Mapping):
        rel = {k: float(v) for k, v in labels.items()}
        graded = True if graded is None else graded
    else:
        graded = (rel_scores is not None) if graded is None else graded
        rel = label_relevance(labels, rel_scores)
    n_labels = len(rel)
    gains = [(v if graded else 1.0) for v in rel.values()]
    out: dict[str, float] = {}
    for k in ks:
        top = list(prediction[:k])
        found, seen = 0, set()
        dcg_lin = dcg_exp = ap = 0.0
        first = 0
        for i, cand in enumerate(top, start=1):
            if cand in rel and cand not in seen:
                seen.add(cand)
                found += 1
                ap += found / i
                first = first or i
                g = rel[cand] if graded else 1.0
                dcg_lin += g / math.log2(i + 1)
                dcg_exp += (2.0 ** g - 1.0) / math.log2(i + 1)
        ideal = sorted(gains, reverse=True)[:k]
        idcg_lin = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
        idcg_exp = sum((2.0 ** g - 1.0) / math.log2(i + 2) for i, g in enumerate(ideal))
        precision = found / k
        recall = found / n_labels if n_labels else 1.0
        out[f"hit@{k}"] = 1.0 if found else 0.0
        out[f"ndcg_linear@{k}"] = dcg_lin / idcg_lin if idcg_lin > 0 else 0.0
        out[f"ndcg_exponential@{k}"] = dcg_exp / idcg_exp if idcg_exp > 0 else 0.0
        out[f"precision@{k}"] = precision
        out[f"recall@{k}"] = recall
        out[f"f1@{k}"] = (2 * precision * recall / (precision + recall)) if precision + recall else 0.0
        out[f"map@{k}"] = ap / min(n_labels, k) if n_labels else 0.0
        out[f"mrr@{k}"] = 1.0 / first if first else 0.0
    return out


def mean_metrics(per_query: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """Arithmetic mean over queries of every metric (keys in the first query's order)."""
    if not per_query:
        return {}
    return {key: float(np.mean([m[key] for m in per_query])) for key in per_query[0]}
