"""A FAISS index of UME embeddings, with ids, metadata and the model identity beside it.

Layout of an index directory:
  index.json           the manifest: model identity, mode, kind, dim, count, current files
  vectors-NNNNN.faiss  the FAISS index (inner product on unit vectors = cosine)
  meta-NNNNN.jsonl     one {"id", "metadata", "reasoning"?} line per vector, in vector order
                       (gen mode: the reasoning text generated before the embedding)
Each save writes a new generation NNNNN and then replaces the manifest, so a save that is
killed half-way leaves the previous index intact (no partial outputs).
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import faiss
import numpy as np

from umer1.engine.params import parse_mode
from umer1.index import kinds
from umer1.utils.errors import InputError
from umer1.utils.files import atomic_path, write_json

log = logging.getLogger(__name__)
MANIFEST = "index.json"
FORMAT = "umer1-faiss-index"
VERSION = 1
KINDS = kinds.KINDS


@dataclass
class Hit:
    id: Any
    score: float
    metadata: dict
    reasoning: str | None = None


class EmbeddingIndex:
    """Exact inner product ("flat") by default; compressed or approximate kinds for large
    corpora (`umer1.index.kinds`)."""

    def __init__(self, manifest: dict, index: faiss.Index | None, ids: list, metadata: list[dict],
                 reasoning: list | None = None):
        self.manifest = manifest
        self.index = index          # None until a trained kind has seen its training sample
        self.ids = ids
        self.metadata = metadata
        self.reasoning = reasoning if reasoning is not None else [None] * len(ids)
        self._id_set = set(map(_key, ids))

    # ----- creation ----------------------------------------------------------------------
    @classmethod
    def create(cls, model_info: dict, mode: str, *, kind: str = "flat",
               **params) -> "EmbeddingIndex":
        """`params`: see `kinds.DEFAULT_PARAMS` (None keeps a default)."""
        mode = str(parse_mode(mode))
        dim = int(model_info["dim"])
        params = kinds.check_params(kind, dim, params)
        manifest = {"format": FORMAT, "version": VERSION, "generation": 0, "kind": kind,
                    "metric": "inner_product", "dim": dim, "count": 0, "mode": mode,
                    "model": model_info, "params": params}
        index = None if kind in kinds.TRAINED else kinds.make_index(kind, dim, params)
        return cls(manifest, index, [], [])

    @property
    def params(self) -> dict:
        return self.manifest["params"]

    @property
    def needs_training(self) -> bool:
        return self.index is None

    @property
    def mode(self) -> str:
        return self.manifest["mode"]

    @property
    def kind(self) -> str:
        return self.manifest["kind"]

    @property
    def dim(self) -> int:
        return self.manifest["dim"]

    def __len__(self) -> int:
        return len(self.ids)

    # ----- adding ------------------------------------------------------------------------
    def check_new_ids(self, ids: Sequence, file: str | None = None,
                      rows: Sequence[int] | None = None) -> None:
        """Refuse ids that are already in the index or repeated in `ids`."""
        seen = set()
        for i, x in enumerate(ids):
            k = _key(x)
            if k in self._id_set or k in seen:
                raise InputError(f"duplicate id {x!r}" + (" (already in the index)"
                                                          if k in self._id_set else ""),
                                 file=file, row=rows[i] if rows else None, field="id")
            seen.add(k)

    def add(self, vectors: np.ndarray, ids: Sequence, metadata: Sequence[dict] | None = None,
            reasoning: Sequence[str | None] | None = None) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise InputError(f"expected vectors of shape (N, {self.dim}), got {vectors.shape}")
        if len(ids) != len(vectors):
            raise InputError(f"{len(ids)} ids for {len(vectors)} vectors")
        metadata = list(metadata) if metadata is not None else [{} for _ in ids]
        reasoning = list(reasoning) if reasoning is not None else [None] * len(ids)
        self.check_new_ids(ids)
        if len(vectors) == 0:
            return
        if self.index is None:
            self.train(vectors[kinds.training_rows(len(vectors), self.params)], len(vectors))
        self.index.add(vectors)
        self.ids.extend(ids)
        self.metadata.extend(metadata)
        self.reasoning.extend(reasoning)
        self._id_set.update(map(_key, ids))
        self.manifest["count"] = len(self.ids)

    def train(self, sample: np.ndarray, total: int) -> None:
        """Learn the quantizers of a trained kind from `sample` (of a corpus of `total`)."""
        sample = np.ascontiguousarray(sample, dtype=np.float32)
        nlist = self.params["nlist"] or kinds.default_nlist(total)
        nlist = max(1, min(nlist, len(sample)))
        if self.kind in ("ivf", "ivfpq", "opq") and len(sample) < 39 * nlist:
            log.warning("training %d IVF lists on only %d vectors; recall may suffer "
                        "(use flat for small corpora)", nlist, len(sample))
        index = kinds.make_index(self.kind, self.dim, self.params, nlist)
        index.train(sample)
        if self.kind != "sq8":
            self.params["nlist"] = nlist
        self.index = index

    # ----- searching ---------------------------------------------------------------------
    def check_query(self, model_info: dict, mode: str) -> None:
        """Refuse a query whose embeddings are not comparable with the indexed ones."""
        rec = self.manifest["model"]
        if model_info["fingerprint"] != rec["fingerprint"]:
            raise InputError(
                f"this index was built with the model {rec['name']!r}; the query model "
                f"{model_info['name']!r} has other weights or embedding settings, so its "
                "embeddings are not comparable. Query with the index's model or rebuild the index",
                field="model")
        mode = str(parse_mode(mode))
        if mode != self.mode and not model_info["settings"].get("spaces_aligned", False):
            raise InputError(
                f"this index holds {self.mode} embeddings and the query is in {mode} mode; the "
                "model's disc and gen spaces are not aligned (spaces_aligned is false in its "
                f"settings), so the scores would be meaningless. Query in {self.mode} mode",
                field="mode")

    def search(self, queries: np.ndarray, k: int = 10, *, nprobe: int | None = None,
               ef_search: int | None = None, k_factor: int | None = None) -> list[list[Hit]]:
        queries = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        if queries.shape[1] != self.dim:
            raise InputError(f"query dimension {queries.shape[1]} != index dimension {self.dim}")
        if k < 1:
            raise InputError("k must be at least 1", field="k")
        if not self.ids:
            return [[] for _ in queries]
        p = self.params
        kinds.set_search_params(self.index, self.kind, nprobe=nprobe or p["nprobe"],
                                ef_search=ef_search or p["ef_search"],
                                k_factor=k_factor or p["k_factor"], k=k)
        scores, rows = self.index.search(queries, min(k, len(self.ids)))
        return [[Hit(self.ids[r], float(s), self.metadata[r], self.reasoning[r])
                 for s, r in zip(sc, rw) if r >= 0] for sc, rw in zip(scores, rows)]

    # ----- persistence -------------------------------------------------------------------
    def save(self, directory: str | Path) -> None:
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        previous = _read_manifest(d) if (d / MANIFEST).is_file() else None
        gen = max(self.manifest["generation"], previous["generation"] if previous else 0) + 1
        files = {"vectors": f"vectors-{gen:05d}.faiss", "meta": f"meta-{gen:05d}.jsonl"}
        index = self.index if self.index is not None else faiss.IndexFlatIP(self.dim)
        with atomic_path(d / files["vectors"]) as tmp:
            faiss.write_index(index, str(tmp))
        with atomic_path(d / files["meta"]) as tmp, tmp.open("w", encoding="utf-8") as fh:
            for i, m, r in zip(self.ids, self.metadata, self.reasoning):
                row = {"id": i, "metadata": m} if r is None else {"id": i, "metadata": m,
                                                                  "reasoning": r}
                fh.write(json.dumps(row, ensure_ascii=False) + "\n")
        manifest = {**self.manifest, "generation": gen, "files": files, "count": len(self.ids)}
        write_json(d / MANIFEST, manifest)      # the commit point
        self.manifest = manifest
        for f in d.iterdir():                   # older generations are now unreferenced
            if re.fullmatch(r"(vectors|meta)-\d{5}\.(faiss|jsonl)", f.name) and \
                    f.name not in files.values():
                f.unlink()

    @classmethod
    def load(cls, directory: str | Path) -> "EmbeddingIndex":
        d = Path(directory)
        manifest = _read_manifest(d)
        manifest["params"] = {**kinds.DEFAULT_PARAMS, **manifest["params"]}   # older versions
        files = manifest.get("files")
        if not files or (manifest["count"] == 0 and manifest["kind"] in kinds.TRAINED):
            return cls(manifest, None if manifest["kind"] in kinds.TRAINED else
                       kinds.make_index(manifest["kind"], manifest["dim"], manifest["params"]),
                       [], [])
        index = faiss.read_index(str(d / files["vectors"]))
        ids, metadata, reasoning = [], [], []
        with (d / files["meta"]).open(encoding="utf-8") as fh:
            for line in fh:
                row = json.loads(line)
                ids.append(row["id"])
                metadata.append(row["metadata"])
                reasoning.append(row.get("reasoning"))
        if not (len(ids) == index.ntotal == manifest["count"]):
            raise InputError(f"the index is damaged: {index.ntotal} vectors, {len(ids)} ids, "
                             f"{manifest['count']} in the manifest", file=str(d / MANIFEST))
        return cls(manifest, index, ids, metadata, reasoning)


def _key(x) -> str:
    return json.dumps(x)


def _read_manifest(d: Path) -> dict:
    path = d / MANIFEST
    if not path.is_file():
        raise InputError("not an index directory (no index.json)", file=str(d))
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"malformed manifest: {exc.msg}", file=str(path)) from None
    if manifest.get("format") != FORMAT:
        raise InputError("not a umer1 index manifest", file=str(path))
    if manifest.get("version", 0) > VERSION:
        raise InputError(f"index format version {manifest['version']} is newer than this "
                         f"umer1 understands ({VERSION})", file=str(path))
    return manifest
