"""One task in one mode pair: embed each unique input once (through the shared embedding cache,
`umer1.store`), rank, score."""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from umer1.engine.params import EmbedSpec, Mode
from umer1.eval.metrics import mean_metrics, query_metrics
from umer1.eval.ranking import at_chance, chance_level, rank, tied_top
from umer1.eval.readers import TaskData
from umer1.eval.registry import TaskSpec
from umer1.store import Embedder, NonFiniteEmbedding
from umer1.utils.errors import InputError


@dataclass
class TaskResult:
    spec: TaskSpec
    query_mode: str
    candidate_mode: str
    metrics: dict[str, float]
    per_query: list[dict[str, float]]
    predictions: list[list[int]]
    scores: list[list[float]]
    num_pred: int
    num_data: int
    chance: float
    at_chance: bool
    revision: str | None
    seconds: float
    found_rate: dict[str, float] = field(default_factory=dict)
    data: TaskData | None = None        # dropped once the prediction file is written
    ranking: str = "global"
    tied_top: int = 0                   # queries whose best score is shared (see ranking.tied_top)
    routing: dict = field(default_factory=dict)   # a routed run: router, fraction reasoned, costs

    @property
    def main(self) -> float:
        return self.metrics[self.spec.metric]

    @property
    def mode(self) -> str:
        q, c = self.query_mode, self.candidate_mode
        return q if q == c else f"{q}-{c}"


def candidate_subset(data: TaskData) -> list[int]:
    """Candidates some query ranks: all for global ranking, the union of pools for local."""
    if data.pools is None:
        return list(range(len(data.candidates)))
    return sorted({j for pool in data.pools for j in pool})


def embed_task(embedder: Embedder, spec: TaskSpec, data: TaskData, qspec: EmbedSpec,
               cspec: EmbedSpec):
    """(query embeddings, candidate embeddings (rows of unused candidates zero), found flags)."""
    q, q_found = _embed(embedder, spec, data, data.queries, data.query_ids, "query", qspec)
    c, c_found = embed_candidates(embedder, spec, data, cspec)
    return q, c, q_found, c_found


def embed_candidates(embedder: Embedder, spec: TaskSpec, data: TaskData, cspec: EmbedSpec):
    """(candidate embeddings, rows of unused candidates zero; found flags of the used ones)."""
    sub = candidate_subset(data)
    c_sub, c_found = _embed(embedder, spec, data, [data.candidates[j] for j in sub],
                            [data.candidate_ids[j] for j in sub], "candidate", cspec)
    c = np.zeros((len(data.candidates),) + c_sub.shape[1:], np.float32)
    c[sub] = c_sub
    return c, c_found


def _embed(embedder: Embedder, spec: TaskSpec, data: TaskData, items, ids, side: str,
           how: EmbedSpec):
    try:
        return embedder.embed(items, how, desc=f"{spec.name} {side} [{how.mode}]")
    except NonFiniteEmbedding as exc:
        raise not_finite(spec, data, side, ids[exc.index], str(how.mode)) from None
    except InputError as exc:
        raise exc.located(file=data.files[0] if data.files else spec.name) from None


def not_finite(spec: TaskSpec, data: TaskData, side: str, uid: str, mode: str) -> InputError:
    return InputError(f"task {spec.name}: the {mode} embedding of {side} {uid!r} is not finite "
                      "(NaN or inf); the model, its dtype or its checkpoint is broken",
                      file=data.files[0] if data.files else None)


def check_finite(spec: TaskSpec, data: TaskData, q: np.ndarray, c: np.ndarray, qmode: str,
                 cmode: str) -> None:
    """Refuse to rank NaN or inf embeddings (their order would be arbitrary), naming the input."""
    for side, emb, ids, mode in (("query", q, data.query_ids, qmode),
                                 ("candidate", c, data.candidate_ids, cmode)):
        bad = np.flatnonzero(~np.isfinite(emb.reshape(len(emb), -1)).all(axis=1))
        if bad.size:
            raise not_finite(spec, data, side, ids[int(bad[0])], mode)


def score_task(spec: TaskSpec, data: TaskData, q: np.ndarray, c: np.ndarray, qmode: str, cmode: str,
               seconds: float = 0.0, found_rate: dict | None = None, seed: int = 0) -> TaskResult:
    check_finite(spec, data, q, c, qmode, cmode)
    preds, scores = rank(q, c, data.pools, data.labels)
    return ranked_result(spec, data, preds, scores, qmode, cmode, seconds, found_rate, seed)


def ranked_result(spec: TaskSpec, data: TaskData, preds: list, scores: list, qmode: str,
                  cmode: str, seconds: float = 0.0, found_rate: dict | None = None,
                  seed: int = 0) -> TaskResult:
    """Metrics, chance level and ties of a task's rankings (top-k ids and scores per query)."""
    per_query = [query_metrics(p, lab, graded=data.graded) for p, lab in zip(preds, data.labels)]
    metrics = mean_metrics(per_query) if per_query else {}
    chance = chance_level(spec, data, seed)
    score = metrics.get(spec.metric, 0.0)
    return TaskResult(spec, qmode, cmode, metrics, per_query, preds, scores, len(preds), data.num_data,
                      chance, at_chance(score, chance, len(preds)), data.revision, seconds,
                      found_rate or {}, data, "global" if data.pools is None else "local",
                      tied_top(scores))


def evaluate_task(embedder: Embedder, spec: TaskSpec, data: TaskData, qspec: EmbedSpec,
                  cspec: EmbedSpec) -> TaskResult | None:
    """Embed (all processes), then rank and score (main process; others get None)."""
    t0 = time.perf_counter()
    q, c, q_found, c_found = embed_task(embedder, spec, data, qspec, cspec)
    if not embedder.is_main:
        return None
    found = {}
    if qspec.mode is Mode.GEN:
        found["queries"] = float(np.mean(q_found)) if q_found.size else 1.0
    if cspec.mode is Mode.GEN:
        found["candidates"] = float(np.mean(c_found)) if c_found.size else 1.0
    return score_task(spec, data, q, c, str(qspec.mode), str(cspec.mode),
                      time.perf_counter() - t0, found)
