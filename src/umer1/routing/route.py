"""Routed retrieval of a batch of queries: disc first, reason only where the router says so.

The caller owns the corpus and how it is searched; it passes two search functions,
`search(rows, embeddings) -> (ids, scores)` per query, best first (at least the top two, so the
router sees a margin):
- `search_disc`: disc query embeddings against the disc corpus;
- `search_gen`: gen query embeddings against the gen corpus, or against the disc corpus for a
  model with `settings.spaces_aligned` (`corpus_modes` says which corpora to build).
`rows` are the queries' positions in the batch (evaluation uses them for per-query pools).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np

from umer1.engine.params import GenParams, Mode
from umer1.routing.features import score_stats
from umer1.routing.routers import Router

Search = Callable[[np.ndarray, np.ndarray], tuple[list, list]]


def corpus_modes(settings) -> tuple[Mode, ...]:
    """The modes a routed corpus is embedded in, once and offline: disc for every query, and gen
    for the routed ones unless the model's gen queries were trained to search a disc corpus."""
    return (Mode.DISC,) if settings.spaces_aligned else (Mode.DISC, Mode.GEN)


@dataclass
class Routed:
    """Per query: the answer (ids, scores), whether it reasoned, and what it cost."""
    ids: list
    scores: list
    reasoned: np.ndarray          # (N,) bool
    tokens: np.ndarray            # (N,) generated tokens (0 for disc-only queries)
    found: np.ndarray             # (N,) <gen_emb> written within the budget (True if not routed)
    disc_seconds: float           # the disc pass of all queries
    gen_seconds: float            # the generation of the routed ones

    @property
    def fraction(self) -> float:
        return float(self.reasoned.mean()) if len(self.reasoned) else 0.0

    def cost(self) -> dict:
        n = max(len(self.reasoned), 1)
        return {"queries": len(self.reasoned), "reasoned": int(self.reasoned.sum()),
                "fraction_reasoned": self.fraction, "generated_tokens": int(self.tokens.sum()),
                "tokens_per_query": float(self.tokens.sum() / n),
                "seconds_per_query": (self.disc_seconds + self.gen_seconds) / n,
                "gen_emb_found_rate": float(self.found[self.reasoned].mean()) if self.reasoned.any() else 1.0}


def route_queries(model, queries: Sequence[Any], router: Router, search_disc: Search,
                  search_gen: Search, params: GenParams | None = None, *,
                  batch_size: int = 8) -> Routed:
    """Embed every query in disc mode and search; reason for those the router picks and search
    them again in gen mode; their gen answers replace the disc ones."""
    params = params or GenParams()
    rows = np.arange(len(queries))
    t0 = time.perf_counter()
    disc = model.encode(queries, mode="disc", batch_size=batch_size)
    ids, scores = search_disc(rows, disc)
    stats = score_stats(scores)
    reasoned = np.asarray(router.decide(stats, disc if router.needs_embedding else None), bool)
    disc_seconds = time.perf_counter() - t0
    tokens = np.zeros(len(queries), np.int64)
    found = np.ones(len(queries), bool)
    ids, scores = list(ids), list(scores)
    t0 = time.perf_counter()
    picked = rows[reasoned]
    if picked.size:
        out = model.generate([queries[i] for i in picked], batch_size=batch_size, params=params)
        tokens[picked], found[picked] = out.num_tokens, out.found
        g_ids, g_scores = search_gen(picked, out.embeddings)
        for j, i in enumerate(picked):
            ids[i], scores[i] = g_ids[j], g_scores[j]
    return Routed(ids, scores, reasoned, tokens, found, disc_seconds, time.perf_counter() - t0)


def route_query(model, query: Any, router: Router, search_disc: Search, search_gen: Search,
                params: GenParams | None = None) -> tuple[list, list, dict]:
    """One query: (ids, scores, cost) — the form `umer1 search` takes."""
    r = route_queries(model, [query], router, search_disc, search_gen, params, batch_size=1)
    return r.ids[0], r.scores[0], r.cost()
