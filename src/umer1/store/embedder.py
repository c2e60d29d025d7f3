"""Embed inputs with a UMEModel through the content-keyed cache, in one or several processes.

- De-duplication: inputs are keyed by content (`content.content_key`); N inputs with C distinct
  contents cost C embeddings, and nothing already in the cache is embedded again.
- Resume: every chunk of `flush_every` new embeddings per process is written as a cache shard
  before the next chunk starts; a rerun embeds only inputs no shard holds.
- Several processes (`accelerate launch`): each chunk is split evenly, short shares padded by
  repeating the last input, embeddings gathered in rank order and the padding dropped; the
  main process writes the shards. (A sharded index build instead runs one single-process
  Embedder per process, each on its own part of the corpus: `umer1.index.build`.)
- `embedded` counts the inputs this Embedder actually ran through the model.
"""
from __future__ import annotations

import dataclasses
import math
from pathlib import Path
from typing import Sequence

import numpy as np

from umer1.engine.fingerprint import model_fingerprint
from umer1.engine.inputs import EmbedInput
from umer1.engine.params import EmbedSpec, Mode
from umer1.store.cache import EmbeddingCache, cache_key
from umer1.store.content import content_key
from umer1.utils.errors import InputError
from umer1.utils.progress import progress
from umer1.utils.processes import ProcessView


class NonFiniteEmbedding(InputError):
    """An embedding with NaN or inf: never cached; `index` is the input's position in the
    `items` given to `Embedder.embed`, for the caller to name it."""

    def __init__(self, index: int):
        super().__init__(f"input {index}: its embedding is not finite (NaN or inf); the model, "
                         "its dtype or its checkpoint is broken")
        self.index = index


class Embedder(ProcessView):
    """`embed(items, spec)`: (embeddings, found flags) in the order of `items`, cached."""

    def __init__(self, model, cache_dir: str | Path, *, batch_size: int = 8, flush_every: int = 64,
                 show_progress: bool = True, state=None):
        self.model = model
        self.cache_dir = Path(cache_dir)
        self.batch_size = batch_size
        self.flush_every = max(1, flush_every)
        self.show_progress = show_progress
        self.state = state
        self.fingerprint = model_fingerprint(model)
        self.embedded = 0
        self._caches: dict[str, EmbeddingCache] = {}   # by cache_key: specs differing only
        # in what their mode ignores (disc with any GenParams) share one cache

    def cache(self, spec: EmbedSpec) -> EmbeddingCache:
        key = cache_key(self.fingerprint, spec)
        if key not in self._caches:
            self._caches[key] = EmbeddingCache(self.cache_dir, self.fingerprint, spec,
                                               model_name=str(self.model.name))
        return self._caches[key]

    def embed(self, items: Sequence[EmbedInput], spec: EmbedSpec, desc: str = ""
              ) -> tuple[np.ndarray, np.ndarray]:
        """(embeddings (N, D) or (N, K, D), found flags (N,) or (N, K)) in the order of `items`."""
        cache = self.cache(spec)
        keys = [content_key(it, self.model.settings.video_frames) for it in items]
        first: dict[str, int] = {}
        for i, k in enumerate(keys):
            first.setdefault(k, i)
        missing = self._broadcast([k for k in first if k not in cache])
        for k in missing:
            for p in list(items[first[k]].images) + list(items[first[k]].video or []):
                if isinstance(p, str) and not Path(p).is_file():
                    raise InputError(f"no such media file: {p}", field="image")
        step = self.flush_every * self.world
        # Greedy generation prefills the prompt, which holds <disc_emb>: its disc embeddings
        # come free, so a gen run caches them here instead of paying a second forward later.
        greedy_gen = spec.mode is Mode.GEN and not spec.gen.sampling
        disc_cache = self.cache(EmbedSpec(Mode.DISC)) if greedy_gen else None
        with progress(total=len(missing), desc=desc, enabled=self.show_progress and self.is_main) as bar:
            for c, start in enumerate(range(0, len(missing), step)):
                chunk = missing[start:start + step]
                emb, found, disc, texts = self._embed_chunk([items[first[k]] for k in chunk],
                                                            spec, c)
                for a in (emb, disc):
                    bad = _non_finite_rows(a)
                    if bad.size:
                        raise NonFiniteEmbedding(first[chunk[int(bad[0])]])
                self.embedded += len(chunk)
                cache.put(chunk, emb, found, write=self.is_main, texts=texts)
                if disc_cache is not None:
                    new = [i for i, k in enumerate(chunk) if k not in disc_cache]
                    if new:
                        disc_cache.put([chunk[i] for i in new], disc[new], np.ones(len(new), bool),
                                       write=self.is_main)
                bar.update(len(chunk))
        if not keys:
            return np.zeros((0, self.model.hidden_size), np.float32), np.zeros((0,), bool)
        return cache.get(keys)

    def texts(self, items: Sequence[EmbedInput], spec: EmbedSpec) -> list[str | None]:
        """The texts generated for `items` (gen mode, after `embed`); None where unknown."""
        return self.cache(spec).texts([content_key(it, self.model.settings.video_frames)
                                       for it in items])

    def _embed_chunk(self, items: list[EmbedInput], spec: EmbedSpec, chunk_no: int):
        per = math.ceil(len(items) / self.world)
        mine = items[self.rank * per:(self.rank + 1) * per]
        mine = mine + [items[-1]] * (per - len(mine))     # equal shares for the gather
        emb, found, disc, texts = self._model_call(mine, spec, chunk_no)
        if self.world == 1:
            return emb, found, disc, texts
        import torch
        from accelerate.utils import gather, gather_object
        dev = self.state.device
        keep = [r * per + j for r in range(self.world)
                for j in range(max(0, min(per, len(items) - r * per)))]

        def gathered(a: np.ndarray) -> np.ndarray:
            return gather(torch.from_numpy(a).to(dev)).cpu().numpy()[keep]
        all_texts = None
        if texts is not None:
            every = gather_object(texts)
            all_texts = [every[i] for i in keep]
        return (gathered(emb), gathered(found.astype(np.uint8)).astype(bool),
                None if disc is None else gathered(disc), all_texts)

    def _model_call(self, items: list[EmbedInput], spec: EmbedSpec, chunk_no: int):
        """(embeddings, found flags, disc embeddings from the same prefill or None, generated
        texts or None)."""
        if spec.mode is Mode.DISC:
            emb = self.model.encode(items, mode="disc", batch_size=self.batch_size,
                                    normalize_embeddings=True)
            return emb, np.ones(len(items), bool), None, None
        params = spec.gen
        if params.sampling:   # a distinct, reproducible seed per chunk and process
            base = params.seed or 0
            params = dataclasses.replace(params, seed=base + 1_000_003 * chunk_no + 10_007 * self.rank)
        out = self.model.generate(items, batch_size=self.batch_size, normalize_embeddings=True,
                                  params=params)
        texts = [t if isinstance(t, str) else "" for t in out.texts] if out.embeddings.ndim == 2 \
            else None     # several samples per input: the texts are not kept
        return out.embeddings, np.asarray(out.found, bool), out.disc_embeddings, texts

    def _broadcast(self, obj: list) -> list:
        """The main process's view of what is missing, so every process runs the same chunks."""
        if self.world == 1:
            return obj
        from accelerate.utils import broadcast_object_list
        box = [obj]
        broadcast_object_list(box, from_process=0)
        return box[0]


def _non_finite_rows(a: np.ndarray | None) -> np.ndarray:
    if a is None:
        return np.zeros(0, int)
    return np.flatnonzero(~np.isfinite(a.reshape(len(a), -1)).all(axis=1))
