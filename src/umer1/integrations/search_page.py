"""The search page's backend: index directories (`umer1.index`) searched with the served model.

`IndexSearch.open(dirs)` reads the indexes before any model loads (at most one disc and one
gen index); `bind(model)` refuses an index built by another model (its fingerprint) in one
line; calling the bound object embeds the query in each index's mode (gen mode: greedy, within
the server's reasoning budget, keeping the query's reasoning text) and searches. The server
runs each call on its model worker (`umer1.serve.search`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

from umer1.engine.params import GenParams, Mode
from umer1.index import EmbeddingIndex, model_identity
from umer1.serve.search import ModeResult, SearchHit, SearchQuery
from umer1.utils.errors import InputError

OPTION = "--search-index"


class IndexSearch:
    def __init__(self, indexes: dict[str, EmbeddingIndex], dirs: dict[str, str], *,
                 max_new_tokens: int, model=None):
        self.indexes, self.dirs = indexes, dirs
        self.gen = GenParams(max_new_tokens=max_new_tokens)   # greedy: the documented default
        self.model = model

    @classmethod
    def open(cls, dirs: Sequence[str | Path], *, max_new_tokens: int) -> "IndexSearch":
        if not dirs:
            raise InputError("give at least one index directory", field=OPTION)
        indexes, where = {}, {}
        for d in dirs:
            index = EmbeddingIndex.load(d)
            if index.mode in indexes:
                raise InputError(f"two {index.mode} indexes ({where[index.mode]} and {d}); the "
                                 "page shows at most one disc and one gen index", field=OPTION)
            indexes[index.mode], where[index.mode] = index, str(d)
        return cls(indexes, where, max_new_tokens=max_new_tokens)

    def bind(self, model) -> "IndexSearch":
        """This search with `model` embedding the queries; refused if an index was built by
        another model or settings (the fingerprint recorded in index.json)."""
        info = model_identity(model)
        for mode, index in self.indexes.items():
            try:
                index.check_query(info, mode)
            except InputError as exc:
                raise InputError(exc.message, file=self.dirs[mode], field=OPTION) from None
        return IndexSearch(self.indexes, self.dirs, max_new_tokens=self.gen.max_new_tokens,
                           model=model)

    def describe(self) -> list[dict]:
        return [{"mode": mode, "count": len(ix), "kind": ix.kind,
                 "name": Path(self.dirs[mode]).name} for mode, ix in self.indexes.items()]

    def __call__(self, query: SearchQuery) -> list[ModeResult]:
        if self.model is None:
            raise RuntimeError("bind(model) first")
        results = []
        for mode in (Mode.DISC.value, Mode.GEN.value):
            index = self.indexes.get(mode)
            if index is None:
                continue
            reasoning = None
            if mode == Mode.GEN.value:
                out = self.model.generate([query.input], batch_size=1, params=self.gen)
                emb, reasoning = out.embeddings, out.texts[0]
            else:
                emb = self.model.encode([query.input], mode=Mode.DISC, batch_size=1)
            hits = index.search(emb, query.top_k)[0]
            results.append(ModeResult(mode, [_hit(rank, h) for rank, h in enumerate(hits, 1)],
                                      reasoning))
        return results


def _hit(rank: int, h) -> SearchHit:
    meta = h.metadata if isinstance(h.metadata, dict) else {}
    text, image = meta.get("text"), meta.get("image")
    if isinstance(image, list):      # a row with several images: the first is the thumbnail
        image = image[0] if image else None
    return SearchHit(rank, h.id, h.score, text if isinstance(text, str) else None,
                     image if isinstance(image, str) else None, h.reasoning)
