"""Embedding a corpus JSONL into an index, resumably.

Corpus rows are `{"id"?, "text"?, "image"?, "video"?, ...}`: the id defaults to the row number,
every other field is kept as metadata. All rows and files are checked before the model runs.
Embeddings go through the shared embedding cache (`umer1.store`) chunk by chunk; a killed job
rerun with the same input embeds only the rows no finished chunk holds.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from umer1.engine.inputs import EmbedInput, input_from_row, read_jsonl, validate
from umer1.engine.params import EmbedSpec, GenParams, Mode, parse_mode
from umer1.index.faiss_index import MANIFEST, EmbeddingIndex
from umer1.index.identity import model_identity
from umer1.store import Embedder, NonFiniteEmbedding
from umer1.utils.errors import InputError

WORK_DIR = ".pending"


@dataclass
class Corpus:
    items: list[EmbedInput]
    ids: list
    metadata: list[dict]
    rows: list[int]          # 1-based line numbers, for error messages


def read_corpus(path: str | Path, max_pixels: int | None = None) -> Corpus:
    path = Path(path)
    corpus = Corpus([], [], [], [])
    for n, row in read_jsonl(path):
        try:
            item = input_from_row(row, base_dir=path.parent)
            validate(item, **({"max_pixels": max_pixels} if max_pixels else {}))
            rid = row.get("id", n)
            if not isinstance(rid, (str, int)) or isinstance(rid, bool):
                raise InputError("an id must be a string or an integer", field="id")
        except InputError as exc:
            raise exc.located(file=str(path), row=n) from None
        corpus.items.append(item)
        corpus.ids.append(rid)
        corpus.metadata.append({k: v for k, v in row.items() if k != "id"})
        corpus.rows.append(n)
    if not corpus.items:
        raise InputError("no rows (the file is empty)", file=str(path))
    return corpus


def add_corpus(index_dir: str | Path, model, input_path: str | Path, *, mode: Mode | str | None = None,
               gen: GenParams | None = None, create: bool = False, kind: str = "flat",
               batch_size: int = 8, chunk_size: int = 512, cache_dir: str | Path | None = None,
               show_progress: bool = True, **index_params) -> EmbeddingIndex:
    """Build a new index from a corpus (create=True) or add a corpus to an existing one.

    Embeddings go through the shared content-keyed cache (`umer1.store`), a shard every
    `chunk_size` new rows: by default a work folder inside the index, removed once the index
    is saved; with `cache_dir` a cache kept and shared with other runs (and `umer1 eval`).
    """
    index_dir, input_path = Path(index_dir), Path(input_path)
    info = model_identity(model)
    if create:
        if (index_dir / MANIFEST).is_file():
            raise InputError("an index already exists here; use `umer1 index add` to extend it "
                             "or choose another --out", file=str(index_dir))
        index = EmbeddingIndex.create(info, str(parse_mode(mode or Mode.DISC)), kind=kind,
                                      **index_params)
    else:
        index = EmbeddingIndex.load(index_dir)
        if str(parse_mode(mode or index.mode)) != index.mode:
            raise InputError(f"the index holds {index.mode} embeddings; add in {index.mode} mode",
                             field="mode")
        index.check_query(info, index.mode)
    corpus = read_corpus(input_path, model.max_image_pixels)
    index.check_new_ids(corpus.ids, file=str(input_path), rows=corpus.rows)
    work = Path(cache_dir) if cache_dir is not None else index_dir / WORK_DIR
    embedder = Embedder(model, work, batch_size=batch_size, flush_every=chunk_size,
                        show_progress=show_progress)
    spec = EmbedSpec(index.mode, gen or GenParams())
    try:
        vectors, _ = embedder.embed(corpus.items, spec, desc=f"embed ({index.mode})")
    except NonFiniteEmbedding as exc:
        raise InputError("the embedding of this row is not finite (NaN or inf); the model, its "
                         "dtype or its checkpoint is broken", file=str(input_path),
                         row=corpus.rows[exc.index]) from None
    index.add(vectors, corpus.ids, corpus.metadata)
    index.save(index_dir)
    if cache_dir is None:
        shutil.rmtree(work, ignore_errors=True)
    return index


def search_inputs(index: EmbeddingIndex, model, queries: list, *, k: int = 10,
                  mode: Mode | str | None = None, gen: GenParams | None = None, **search_kw):
    """Embed queries with `model` (refused if not comparable with the index) and search."""
    mode = parse_mode(mode or index.mode)
    index.check_query(model_identity(model), str(mode))
    return index.search(model.encode(queries, mode=mode, params=gen), k, **search_kw)
