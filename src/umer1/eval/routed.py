"""One task evaluated with a router: every query in disc mode first, gen mode only where the
router picks it (`umer1.routing.route_queries`), scored as the run's `routed` mode.

The corpus is embedded once, offline, in the modes routing needs (`corpus_modes`: disc and gen,
or disc only for a model with `spaces_aligned`), through the shared embedding cache and in every
process. The query side is the online cost being measured: it runs in the main process, outside
the cache, so its generated tokens and seconds are those of this run.
"""
from __future__ import annotations

import time

import numpy as np

from umer1.engine.params import EmbedSpec, GenParams, Mode
from umer1.eval.ranking import rank
from umer1.eval.readers import TaskData
from umer1.eval.registry import TaskSpec
from umer1.eval.runner import TaskResult, embed_candidates, not_finite, ranked_result
from umer1.routing import Router, corpus_modes, route_queries
from umer1.store import Embedder

ROUTED = "routed"


def evaluate_routed_task(embedder: Embedder, spec: TaskSpec, data: TaskData, router: Router,
                         params: GenParams) -> TaskResult | None:
    """The routed ranking of a task with its costs in `TaskResult.routing` (main process; the
    others embed their share of the corpus and get None)."""
    t0 = time.perf_counter()
    modes = corpus_modes(embedder.model.settings)
    corpus = {m: embed_candidates(embedder, spec, data, EmbedSpec(m, params))[0] for m in modes}
    corpus_seconds = time.perf_counter() - t0
    if not embedder.is_main:
        return None

    def search(c: np.ndarray):
        def ranked(rows: np.ndarray, q: np.ndarray):
            pools = None if data.pools is None else [data.pools[i] for i in rows]
            return rank(q, c, pools, [data.labels[i] for i in rows])
        return ranked

    r = route_queries(embedder.model, data.queries, router, search(corpus[Mode.DISC]),
                      search(corpus[modes[-1]]), params, batch_size=embedder.batch_size)
    for i, sc in enumerate(r.scores):
        if not np.isfinite(sc).all():
            raise not_finite(spec, data, "query", data.query_ids[i],
                             "gen" if r.reasoned[i] else "disc")
    found = {"queries": r.cost()["gen_emb_found_rate"]} if r.reasoned.any() else {}
    result = ranked_result(spec, data, r.ids, r.scores, ROUTED, ROUTED,
                           time.perf_counter() - t0, found)
    result.routing = {"router": router.name, "corpus_modes": [str(m) for m in modes],
                      "corpus_seconds": round(corpus_seconds, 3), **r.cost()}
    return result
