"""Embedding a corpus for an index in parts, across any number of processes and machines.

The corpus is cut into parts of `chunk_size` rows; part p belongs to process p % world. Each
process embeds its parts through the shared embedding cache (`umer1.store`: one single-process
`Embedder` per process, so no collective runs per chunk) and writes every finished part as one
file: corpus rows, ids, metadata, vectors, found flags, the generated texts (gen mode) and how
many inputs it ran through the model. A part file is the unit of resume: a rerun, with any
number of processes, embeds only parts that have no file, and the cache spares even the inputs
of a killed process's unfinished part that reached it. After a barrier the main process merges
the parts in corpus order. Parts are cut from the corpus, not from the process count, so the
index does not depend on how many processes built it.

Work folder (inside the index directory; on a filesystem every machine sees):
  state.json             corpus sha256, row count, model fingerprint, embedding spec, part size
  parts/part-NNNNNN.npz  one per finished part
  cache/                 the embedding cache when no --cache-dir is given
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from umer1.engine.params import EmbedSpec, Mode
from umer1.index import kinds
from umer1.store import NonFiniteEmbedding
from umer1.utils.errors import InputError
from umer1.utils.files import atomic_path, file_sha256, write_json
from umer1.utils.progress import progress
from umer1.utils.processes import ProcessView

WORK_DIR = ".pending"
STATE = "state.json"
# Test hook: "RANK:N" makes process RANK exit (status 17, as if killed) after writing N parts.
EXIT_HOOK = "UMER1_INDEX_EXIT_AFTER_PARTS"


@dataclass
class Part:
    rows: np.ndarray              # 0-based corpus rows
    ids: list
    metadata: list[dict]
    emb: np.ndarray
    found: np.ndarray
    texts: list | None            # gen mode: the reasoning generated before each embedding
    embedded: int                 # inputs this part ran through the model (not from the cache)
    rank: int


class PartedBuild(ProcessView):
    """The parts of one build (or add) and the processes sharing them."""

    def __init__(self, work: str | Path, corpus_path: str | Path, rows: int, part_size: int,
                 fingerprint: str, spec: EmbedSpec, state=None):
        if part_size < 1:
            raise InputError("must be at least 1", field="--chunk-size")
        self.work, self.corpus_path = Path(work), Path(corpus_path)
        self.rows, self.part_size, self.state = rows, part_size, state
        self.record = {"corpus": str(self.corpus_path), "corpus_sha256": file_sha256(corpus_path),
                       "rows": rows, "part_size": part_size, "fingerprint": fingerprint,
                       "embed": spec.key_info()}

    @property
    def num_parts(self) -> int:
        return -(-self.rows // self.part_size)

    def bounds(self, p: int) -> tuple[int, int]:
        return p * self.part_size, min(self.rows, (p + 1) * self.part_size)

    def prepare(self) -> None:
        """Refuse to resume another build; clear a killed writer's temporary part; record."""
        state_file = self.work / STATE
        if state_file.is_file():
            self._check_resumable(json.loads(state_file.read_text(encoding="utf-8")))
        if self.is_main:
            (self.work / "parts").mkdir(parents=True, exist_ok=True)
            for tmp in (self.work / "parts").glob(".*.tmp"):   # no part is written before the barrier
                tmp.unlink(missing_ok=True)
            if not state_file.is_file():
                write_json(state_file, self.record)
        self.barrier()

    def _check_resumable(self, have: dict) -> None:
        want = self.record
        if have.get("corpus_sha256") != want["corpus_sha256"]:
            raise InputError(
                f"an unfinished build in {self.work} embedded another corpus (sha256 "
                f"{have.get('corpus_sha256', '?')[:12]}, this file {want['corpus_sha256'][:12]}); "
                f"rerun with that corpus or delete {self.work}", file=str(self.corpus_path))
        if have.get("part_size") != want["part_size"]:
            raise InputError(f"the unfinished build in {self.work} cut its parts every "
                             f"{have.get('part_size')} rows; resume with that value",
                             field="--chunk-size")
        if (have.get("fingerprint"), have.get("embed")) != (want["fingerprint"], want["embed"]):
            raise InputError(f"the unfinished build in {self.work} used another model or "
                             f"embedding settings; resume with those or delete {self.work}",
                             field="model")

    def path(self, p: int) -> Path:
        return self.work / "parts" / f"part-{p:06d}.npz"

    def pending_mine(self) -> list[int]:
        return [p for p in range(self.rank, self.num_parts, self.world)
                if not self.path(p).is_file()]

    def write(self, p: int, part: Part) -> None:
        arrays = {"rows": part.rows, "emb": part.emb.astype(np.float32), "found": part.found,
                  "ids": np.asarray([json.dumps(i) for i in part.ids], dtype=str),
                  "metadata": np.asarray([json.dumps(m, ensure_ascii=False) for m in part.metadata],
                                         dtype=str),
                  "embedded": np.int64(part.embedded), "rank": np.int64(part.rank)}
        if part.texts is not None:
            arrays["texts"] = np.asarray([json.dumps(t) for t in part.texts], dtype=str)
        with atomic_path(self.path(p)) as tmp, open(tmp, "wb") as fh:
            np.savez(fh, **arrays)

    def read(self, p: int) -> Part:
        with np.load(self.path(p), allow_pickle=False) as z:
            texts = [json.loads(t) for t in z["texts"].tolist()] if "texts" in z.files else None
            return Part(z["rows"], [json.loads(i) for i in z["ids"].tolist()],
                        [json.loads(m) for m in z["metadata"].tolist()], z["emb"], z["found"],
                        texts, int(z["embedded"]), int(z["rank"]))


def embed_parts(build: PartedBuild, embedder, corpus, spec: EmbedSpec, *, input_path,
                show_progress: bool = True) -> None:
    """Embed and write this process's unfinished parts."""
    mine = build.pending_mine()
    exit_after = _exit_hook(build.rank)
    with progress(total=len(mine), desc=f"embed ({spec.mode}) parts",
                  enabled=show_progress and build.is_main) as bar:
        for written, p in enumerate(mine, start=1):
            a, b = build.bounds(p)
            items = corpus.items[a:b]
            before = embedder.embedded
            try:
                emb, found = embedder.embed(items, spec)
            except NonFiniteEmbedding as exc:
                raise InputError("the embedding of this row is not finite (NaN or inf); the "
                                 "model, its dtype or its checkpoint is broken",
                                 file=str(input_path), row=corpus.rows[a + exc.index]) from None
            texts = embedder.texts(items, spec) if spec.mode is Mode.GEN else None
            build.write(p, Part(np.arange(a, b), corpus.ids[a:b], corpus.metadata[a:b], emb,
                                found, texts, embedder.embedded - before, build.rank))
            bar.update(1)
            if written == exit_after:
                os._exit(17)


def merge_parts(build: PartedBuild, index) -> dict:
    """Add every part to `index` in corpus order (training it first on a seeded sample when
    its kind needs it); per-rank counts of the inputs embedded."""
    missing = [p for p in range(build.num_parts) if not build.path(p).is_file()]
    if missing:
        raise RuntimeError(f"parts {missing[:5]} are missing after every process finished")
    if index.needs_training:
        take = kinds.training_rows(build.rows, index.params)
        sample = []
        for p in range(build.num_parts):
            a, b = build.bounds(p)
            sel = take[(take >= a) & (take < b)] - a
            if sel.size:
                sample.append(build.read(p).emb[sel])
        index.train(np.concatenate(sample), build.rows)
    embedded: dict[int, int] = {}
    for p in range(build.num_parts):
        part = build.read(p)
        index.add(part.emb, part.ids, part.metadata, part.texts)
        embedded[part.rank] = embedded.get(part.rank, 0) + part.embedded
    return embedded


def _exit_hook(rank: int) -> int | None:
    spec = os.environ.get(EXIT_HOOK, "")
    if ":" not in spec:
        return None
    r, n = spec.split(":", 1)
    return int(n) if int(r) == rank else None
