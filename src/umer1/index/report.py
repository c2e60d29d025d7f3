"""The build report written beside an index: sizes (estimated and measured), who embedded
what, and recall@k of the index against exact search on a seeded sample of its own vectors."""
from __future__ import annotations

import numpy as np

from umer1.index import kinds
from umer1.utils.files import write_json

REPORT = "build_report.json"


def exact_top_k(queries: np.ndarray, blocks, k: int) -> np.ndarray:
    """Row numbers of the exact top-k inner products over vectors given block by block as
    (first row, vectors), without holding every vector at once."""
    best_s = np.full((len(queries), 0), -np.inf, np.float32)
    best_r = np.zeros((len(queries), 0), np.int64)
    for first, vectors in blocks:
        s = np.concatenate([best_s, queries @ vectors.T], axis=1)
        r = np.concatenate([best_r, np.broadcast_to(np.arange(first, first + len(vectors)),
                                                    (len(queries), len(vectors)))], axis=1)
        keep = np.argsort(-s, axis=1, kind="stable")[:, :k]
        best_s, best_r = np.take_along_axis(s, keep, 1), np.take_along_axis(r, keep, 1)
    return best_r


def recall_at_k(index, blocks_fn, *, k: int = 10, queries: int = 200, seed: int = 0) -> dict:
    """recall@k of `index.search` against exact search, the queries being a seeded sample of
    the indexed vectors (`blocks_fn()` yields (first row, vectors) over all of them)."""
    n = len(index)
    asked, k = k, min(k, n)     # a corpus smaller than k: all of it is the exact answer
    pick = np.sort(np.random.default_rng(seed).choice(n, min(queries, n), replace=False))
    q = np.concatenate([v[pick[(pick >= a) & (pick < a + len(v))] - a] for a, v in blocks_fn()])
    exact = exact_top_k(q, blocks_fn(), k)
    approx = index.search(q, k)
    hits = [len({index.ids[r] for r in e} & {h.id for h in got}) / k
            for e, got in zip(exact, approx)]
    return {f"recall@{asked}": float(np.mean(hits)), "recall_queries": len(pick),
            "recall_note": "queries are indexed vectors; exact = brute-force inner product"}


def write_report(index_dir, index, *, vectors_bytes: int, embedded_by_rank: dict,
                 processes: int, recall: dict | None) -> dict:
    est = kinds.estimate(index.kind, index.dim, len(index), index.params)
    report = {"kind": index.kind, "count": len(index), "dim": index.dim, "mode": index.mode,
              "params": index.params, "estimate": est, "measured_bytes": vectors_bytes,
              "measured_bytes_per_vector": round(vectors_bytes / max(1, len(index)), 1),
              "processes": processes,
              "embedded_by_rank": {str(r): n for r, n in sorted(embedded_by_rank.items())},
              **(recall or {"recall@10": None,
                            "recall_note": "measured on builds only (exact search needs every "
                                           "vector; an add reads only the new ones)"})}
    write_json(index_dir / REPORT, report)
    return report
