"""Embedding a corpus JSONL into an index, resumably, in one or several processes.

Corpus rows are `{"id"?, "text"?, "image"?, "video"?, ...}`: the id defaults to the row number,
every other field is kept as metadata. All rows and files are checked before the model runs.
The corpus is embedded in parts (`umer1.index.build`) through the shared embedding cache
(`umer1.store`); a killed job rerun with the same input embeds only the parts not finished.
"""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from umer1.engine.inputs import EmbedInput, input_from_row, read_jsonl, validate
from umer1.engine.params import EmbedSpec, GenParams, Mode, parse_mode
from umer1.index import kinds
from umer1.index.build import WORK_DIR, PartedBuild, embed_parts, merge_parts
from umer1.index.faiss_index import MANIFEST, EmbeddingIndex
from umer1.index.identity import model_identity
from umer1.index.report import recall_at_k, write_report
from umer1.store import Embedder
from umer1.utils.errors import InputError


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
               show_progress: bool = True, state=None, say=None,
               **index_params) -> EmbeddingIndex | None:
    """Build a new index from a corpus (create=True) or add a corpus to an existing one.

    Every process of `state` (accelerate's PartialState; None: this process alone) embeds its
    parts of `chunk_size` rows; the main process merges them, saves the index and its build
    report, and returns it (other processes return None). Embeddings go through the shared
    content-keyed cache: by default a work folder inside the index, removed once the index is
    saved; with `cache_dir` a cache kept and shared with other runs (and `umer1 eval`).
    `say` receives the size estimate before embedding starts (main process).
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
    spec = EmbedSpec(index.mode, gen or GenParams())
    work = index_dir / WORK_DIR
    build = PartedBuild(work, input_path, len(corpus.items), chunk_size, info["fingerprint"],
                        spec, state)
    build.prepare()
    if say is not None and build.is_main:
        say(kinds.describe(kinds.estimate(index.kind, index.dim, len(index) + len(corpus.items),
                                          index.params)))
    embedder = Embedder(model, Path(cache_dir) if cache_dir is not None else work / "cache",
                        batch_size=batch_size, flush_every=chunk_size, show_progress=False)
    embed_parts(build, embedder, corpus, spec, input_path=input_path, show_progress=show_progress)
    build.barrier()
    if not build.is_main:
        build.barrier()
        return None
    was_empty = len(index) == 0
    embedded = merge_parts(build, index)
    index.save(index_dir)
    recall = None
    if was_empty:
        recall = recall_at_k(index, lambda: ((build.bounds(p)[0], build.read(p).emb)
                                             for p in range(build.num_parts)),
                             seed=index.params["seed"])
    write_report(index_dir, index,
                 vectors_bytes=(index_dir / index.manifest["files"]["vectors"]).stat().st_size,
                 embedded_by_rank=embedded, processes=build.world, recall=recall)
    shutil.rmtree(work, ignore_errors=True)
    build.barrier()
    return index


def search_inputs(index: EmbeddingIndex, model, queries: list, *, k: int = 10,
                  mode: Mode | str | None = None, gen: GenParams | None = None, **search_kw):
    """Embed queries with `model` (refused if not comparable with the index) and search."""
    mode = parse_mode(mode or index.mode)
    index.check_query(model_identity(model), str(mode))
    return index.search(model.encode(queries, mode=mode, params=gen), k, **search_kw)
