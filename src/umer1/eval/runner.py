"""Run evaluation tasks: embed each unique input once (through the on-disk cache, split across
processes), rank, score.

- De-duplication: inputs are keyed by content (`cache.content_key`); a task's C distinct
  candidates are embedded C times however many queries share them.
- Resume: every chunk of `flush_every` new embeddings per process is written as a cache shard
  before the next chunk starts; a rerun embeds only inputs no shard holds.
- Several processes (`accelerate launch`): each chunk is split evenly, short shares padded by
  repeating the last input, embeddings gathered in rank order and the padding dropped;
  the main process writes the shards, ranks and reports.
- Ranking: cosine (embeddings are L2-normalised), descending; ties keep ascending candidate
  position (`metrics.rank_order`), so results never depend on hash seeds.
"""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from umer1.utils.errors import InputError
from umer1.eval.cache import EmbeddingCache, content_key, fingerprint, model_fingerprint
from umer1.eval.metrics import KS, mean_metrics, query_metrics, rank_order
from umer1.eval.tasks import TaskData, TaskSpec
from umer1.engine.inputs import EmbedInput
from umer1.utils.progress import progress

log = logging.getLogger(__name__)
TOPK = max(KS)        # predictions kept per query (all metrics are at k <= 10)
MODES = ("disc", "gen")


@dataclass(frozen=True)
class ModeSpec:
    """How one side is embedded. Sampled gen (temperature > 0) is seeded and keyed by its seed."""
    mode: str
    max_new_tokens: int = 8192
    temperature: float = 0.0
    top_p: float = 1.0
    num_samples: int = 1
    seed: int = 0

    def key_info(self) -> dict:
        if self.mode == "disc":
            return {"mode": "disc"}
        info = {"mode": "gen", "max_new_tokens": self.max_new_tokens}
        if self.temperature > 0:
            info.update(temperature=self.temperature, top_p=self.top_p,
                        num_samples=self.num_samples, seed=self.seed)
        return info


class Embedder:
    """Embeds inputs with a UMEModel through the content-keyed cache, across processes."""

    def __init__(self, model, cache_dir: str | Path, *, batch_size: int = 8, flush_every: int = 64,
                 show_progress: bool = True, state=None):
        self.model = model
        self.cache_dir = Path(cache_dir)
        self.batch_size = batch_size
        self.flush_every = max(1, flush_every)
        self.show_progress = show_progress
        self.state = state
        self.model_info = model_fingerprint(model)
        self._caches: dict[str, EmbeddingCache] = {}
        self.calls = 0          # model calls made (for logs and benchmarks)

    @property
    def world(self) -> int:
        return self.state.num_processes if self.state is not None else 1

    @property
    def rank(self) -> int:
        return self.state.process_index if self.state is not None else 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def cache(self, spec: ModeSpec) -> EmbeddingCache:
        key = fingerprint(self.model_info, spec.key_info())
        if key not in self._caches:
            self._caches[key] = EmbeddingCache(
                self.cache_dir, key, describe={"model": self.model_info, "mode": spec.key_info()})
        return self._caches[key]

    def embed(self, items: Sequence[EmbedInput], spec: ModeSpec, desc: str = ""
              ) -> tuple[np.ndarray, np.ndarray]:
        """(embeddings (N, D) or (N, K, D), found flags (N,) or (N, K)) in the order of `items`."""
        cache = self.cache(spec)
        keys = [content_key(it, self.model.settings.video_frames) for it in items]
        first: dict[str, int] = {}
        for i, k in enumerate(keys):
            first.setdefault(k, i)
        missing = [k for k in first if k not in cache]
        missing = self._broadcast(missing)
        for k in missing:
            for p in list(items[first[k]].images) + list(items[first[k]].video or []):
                if isinstance(p, str) and not Path(p).is_file():
                    raise InputError(f"no such media file: {p}", field="image")
        step = self.flush_every * self.world
        # Greedy generation prefills the prompt, which holds <disc_emb>: its disc embeddings
        # come free, so a `both` run caches them here instead of paying a second forward.
        disc_cache = self.cache(ModeSpec("disc")) if spec.mode == "gen" and spec.temperature <= 0 else None
        with progress(total=len(missing), desc=desc, enabled=self.show_progress and self.is_main) as bar:
            for c, start in enumerate(range(0, len(missing), step)):
                chunk = missing[start:start + step]
                emb, found, disc = self._embed_chunk([items[first[k]] for k in chunk], spec, c)
                cache.put(chunk, emb, found, write=self.is_main)
                if disc_cache is not None:
                    new = [i for i, k in enumerate(chunk) if k not in disc_cache]
                    if new:
                        disc_cache.put([chunk[i] for i in new], disc[new], np.ones(len(new), bool),
                                       write=self.is_main)
                bar.update(len(chunk))
        if not keys:
            return np.zeros((0, self.model.hidden_size), np.float32), np.zeros((0,), bool)
        return cache.get(keys)

    def _embed_chunk(self, items: list[EmbedInput], spec: ModeSpec, chunk_no: int):
        per = math.ceil(len(items) / self.world)
        mine = items[self.rank * per:(self.rank + 1) * per]
        mine = mine + [items[-1]] * (per - len(mine))     # equal shares for the gather
        emb, found, disc = self._model_call(mine, spec,
                                            seed=spec.seed + 1_000_003 * chunk_no + 10_007 * self.rank)
        if self.world == 1:
            return emb, found, disc
        import torch
        from accelerate.utils import gather
        dev = self.state.device
        keep = [r * per + j for r in range(self.world)
                for j in range(max(0, min(per, len(items) - r * per)))]

        def gathered(a: np.ndarray) -> np.ndarray:
            return gather(torch.from_numpy(a).to(dev)).cpu().numpy()[keep]
        return (gathered(emb), gathered(found.astype(np.uint8)).astype(bool),
                None if disc is None else gathered(disc))

    def _model_call(self, items: list[EmbedInput], spec: ModeSpec, seed: int):
        """(embeddings, found flags, disc embeddings from the same prefill or None)."""
        self.calls += 1
        if spec.mode == "disc":
            emb = self.model.encode(items, mode="disc", batch_size=self.batch_size,
                                    normalize_embeddings=True)
            return emb, np.ones(len(items), bool), None
        out = self.model.generate(items, batch_size=self.batch_size, normalize_embeddings=True,
                                  max_new_tokens=spec.max_new_tokens, temperature=spec.temperature,
                                  top_p=spec.top_p, num_samples=spec.num_samples,
                                  seed=seed if spec.temperature > 0 else None)
        return out.embeddings, np.asarray(out.found, bool), out.disc_embeddings

    def _broadcast(self, obj: list) -> list:
        """The main process's view of what is missing, so every process runs the same chunks."""
        if self.world == 1:
            return obj
        from accelerate.utils import broadcast_object_list
        box = [obj]
        broadcast_object_list(box, from_process=0)
        return box[0]


# ----- ranking and scoring ------------------------------------------------------------------------
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


def chance_level(spec: TaskSpec, data: TaskData, seed: int = 0, draws: int = 20) -> float:
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


def _k(metric: str) -> int:
    return int(metric.split("@")[1])


def at_chance(score: float, chance: float, n: int) -> bool:
    """Within noise of random: under chance + max(0.02, two binomial standard errors)."""
    tol = max(0.02, 2 * math.sqrt(max(chance * (1 - chance), 1e-12) / max(n, 1)))
    return score <= chance + tol


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


def embed_task(embedder: Embedder, spec: TaskSpec, data: TaskData, qspec: ModeSpec, cspec: ModeSpec):
    """(query embeddings, candidate embeddings (rows of unused candidates zero), found flags)."""
    try:
        q, q_found = embedder.embed(data.queries, qspec, desc=f"{spec.name} queries [{qspec.mode}]")
        sub = candidate_subset(data)
        c_sub, c_found = embedder.embed([data.candidates[j] for j in sub], cspec,
                                        desc=f"{spec.name} candidates [{cspec.mode}]")
    except InputError as exc:
        raise exc.located(file=data.files[0] if data.files else spec.name) from None
    c = np.zeros((len(data.candidates),) + c_sub.shape[1:], np.float32)
    c[sub] = c_sub
    return q, c, q_found, c_found


def score_task(spec: TaskSpec, data: TaskData, q: np.ndarray, c: np.ndarray, qmode: str, cmode: str,
               seconds: float = 0.0, found_rate: dict | None = None, seed: int = 0) -> TaskResult:
    preds, scores = rank(q, c, data.pools)
    per_query = [query_metrics(p, lab, graded=data.graded) for p, lab in zip(preds, data.labels)]
    metrics = mean_metrics(per_query) if per_query else {}
    chance = chance_level(spec, data, seed)
    score = metrics.get(spec.metric, 0.0)
    return TaskResult(spec, qmode, cmode, metrics, per_query, preds, scores, len(preds), data.num_data,
                      chance, at_chance(score, chance, len(preds)), data.revision, seconds,
                      found_rate or {}, data, "global" if data.pools is None else "local")


def evaluate_task(embedder: Embedder, spec: TaskSpec, data: TaskData, qspec: ModeSpec,
                  cspec: ModeSpec) -> TaskResult | None:
    """Embed (all processes), then rank and score (main process; others get None)."""
    t0 = time.perf_counter()
    q, c, q_found, c_found = embed_task(embedder, spec, data, qspec, cspec)
    if not embedder.is_main:
        return None
    found = {}
    if qspec.mode == "gen":
        found["queries"] = float(np.mean(q_found)) if q_found.size else 1.0
    if cspec.mode == "gen":
        found["candidates"] = float(np.mean(c_found)) if c_found.size else 1.0
    return score_task(spec, data, q, c, qspec.mode, cspec.mode, time.perf_counter() - t0, found)
