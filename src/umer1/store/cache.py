"""Embeddings on disk, keyed by model fingerprint, embedding spec and input CONTENT.

A cache directory holds one folder per (model fingerprint, `EmbedSpec.key_info()`). Inside,
every embedded chunk is one `.npz` shard (content keys, embeddings, found flags), written
atomically as soon as the chunk is done: a killed run loses at most the chunk in flight and
the next run embeds only what no shard holds. Evaluation and indexing share this format, so
one cache directory serves both.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from umer1.engine.params import EmbedSpec
from umer1.utils.files import atomic_path, write_json


def cache_key(fingerprint: str, spec: EmbedSpec) -> str:
    """The folder name of one (model, embedding spec) pair."""
    blob = json.dumps({"model": fingerprint, "embed": spec.key_info()}, sort_keys=True)
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


class EmbeddingCache:
    """Append-only shards under `root/cache_key/`; `get` / `put` by content key."""

    def __init__(self, root: str | Path, fingerprint: str, spec: EmbedSpec, model_name: str = ""):
        self.dir = Path(root) / cache_key(fingerprint, spec)
        self.dir.mkdir(parents=True, exist_ok=True)
        if not (self.dir / "meta.json").is_file():   # for people looking at the folder
            write_json(self.dir / "meta.json", {"model": model_name, "fingerprint": fingerprint,
                                                "embed": spec.key_info()})
        self._emb: dict[str, np.ndarray] = {}
        self._found: dict[str, np.ndarray] = {}
        self._loaded: set[str] = set()
        self.refresh()

    def refresh(self) -> None:
        """Load shards written since the last look (also those of other processes)."""
        for shard in sorted(self.dir.glob("shard-*.npz")):
            if shard.name in self._loaded:
                continue
            with np.load(shard, allow_pickle=False) as z:
                keys, emb, found = z["keys"], z["emb"], z["found"]
            for i, k in enumerate(keys.tolist()):
                self._emb[k] = emb[i]
                self._found[k] = found[i]
            self._loaded.add(shard.name)

    def __contains__(self, key: str) -> bool:
        return key in self._emb

    def __len__(self) -> int:
        return len(self._emb)

    def get(self, keys: list[str]) -> tuple[np.ndarray, np.ndarray]:
        return np.stack([self._emb[k] for k in keys]), np.stack([self._found[k] for k in keys])

    def put(self, keys: list[str], emb: np.ndarray, found: np.ndarray, write: bool = True) -> None:
        """Remember new embeddings; `write` also stores them as a shard (main process only)."""
        if write:
            name = f"shard-{len(self._loaded):06d}-{os.getpid()}.npz"
            with atomic_path(self.dir / name) as tmp, open(tmp, "wb") as fh:
                np.savez(fh, keys=np.asarray(keys, dtype="U40"), emb=emb.astype(np.float32),
                         found=found.astype(bool))
            self._loaded.add(name)
        for i, k in enumerate(keys):
            self._emb[k] = emb[i]
            self._found[k] = found[i]
