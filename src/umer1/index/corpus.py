"""Embedding a corpus JSONL into an index, resumably.

Corpus rows are `{"id"?, "text"?, "image"?, "video"?, ...}`: the id defaults to the row number,
every other field is kept as metadata. All rows and files are checked before the model runs.
Embeddings are written in chunks to a work folder inside the index directory; a killed job
rerun with the same input skips the chunks already done, and the folder is removed once the
index is saved.
"""
from __future__ import annotations

import hashlib
import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from umer1.utils.errors import InputError
from umer1.index.faiss_index import MANIFEST, EmbeddingIndex
from umer1.index.identity import model_identity
from umer1.engine.inputs import EmbedInput, input_from_row, read_jsonl, validate
from umer1.utils.files import atomic_path, write_json
from umer1.utils.progress import progress

log = logging.getLogger(__name__)
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


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def embed_resumable(model, items: list[EmbedInput], mode: str, work: Path, key: dict, *,
                    batch_size: int = 8, chunk_size: int = 512, show_progress: bool = True,
                    max_new_tokens: int = 8192) -> np.ndarray:
    """Embeddings of `items`, cached chunk by chunk in `work` under a key of what they depend on."""
    key = {**key, "mode": mode, "chunk_size": chunk_size, "count": len(items)}
    key_file = work / "job.json"
    if work.is_dir():
        same = key_file.is_file() and json.loads(key_file.read_text()) == key
        if not same:
            log.info("discarding unfinished work of another job in %s", work)
            shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    write_json(key_file, key)
    parts = []
    starts = range(0, len(items), chunk_size)
    with progress(total=len(items), desc=f"embed ({mode})", enabled=show_progress) as bar:
        for c, start in enumerate(starts):
            f = work / f"chunk-{c:06d}.npy"
            chunk = items[start:start + chunk_size]
            if f.is_file():
                emb = np.load(f)
            else:
                emb = model.encode(chunk, mode=mode, batch_size=batch_size,
                                   max_new_tokens=max_new_tokens)
                with atomic_path(f) as tmp, open(tmp, "wb") as fh:
                    np.save(fh, emb)
            parts.append(emb)
            bar.update(len(chunk))
    return np.concatenate(parts)


def add_corpus(index_dir: str | Path, model, input_path: str | Path, *, mode: str | None = None,
               create: bool = False, kind: str = "flat", batch_size: int = 8, chunk_size: int = 512,
               show_progress: bool = True, max_new_tokens: int = 8192,
               **index_params) -> EmbeddingIndex:
    """Build a new index from a corpus (create=True) or add a corpus to an existing one."""
    index_dir, input_path = Path(index_dir), Path(input_path)
    info = model_identity(model)
    if create:
        if (index_dir / MANIFEST).is_file():
            raise InputError("an index already exists here; use `umer1 index add` to extend it "
                             "or choose another --out", file=str(index_dir))
        index = EmbeddingIndex.create(info, mode or "disc", kind=kind, **index_params)
    else:
        index = EmbeddingIndex.load(index_dir)
        if (mode or index.mode) != index.mode:
            raise InputError(f"the index holds {index.mode} embeddings; add in {index.mode} mode",
                             field="mode")
        index.check_query(info, index.mode)
    corpus = read_corpus(input_path, model.max_image_pixels)
    index.check_new_ids(corpus.ids, file=str(input_path), rows=corpus.rows)
    key = {"input": str(input_path.resolve()), "sha256": _sha256(input_path),
           "model": info["fingerprint"], "base_count": len(index),
           "max_new_tokens": max_new_tokens}
    work = index_dir / WORK_DIR
    vectors = embed_resumable(model, corpus.items, index.mode, work, key, batch_size=batch_size,
                              chunk_size=chunk_size, show_progress=show_progress,
                              max_new_tokens=max_new_tokens)
    index.add(vectors, corpus.ids, corpus.metadata)
    index.save(index_dir)
    shutil.rmtree(work, ignore_errors=True)
    return index


def search_inputs(index: EmbeddingIndex, model, queries: list, *, k: int = 10,
                  mode: str | None = None, **search_kw):
    """Embed queries with `model` (refused if not comparable with the index) and search."""
    mode = mode or index.mode
    index.check_query(model_identity(model), mode)
    return index.search(model.encode(queries, mode=mode), k, **search_kw)
