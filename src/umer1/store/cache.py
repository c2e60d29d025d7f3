"""Embeddings on disk, keyed by model fingerprint, embedding spec and input CONTENT.

A cache directory holds one folder per (model fingerprint, `EmbedSpec.key_info()`). Inside,
every embedded chunk is one `.npz` shard (content keys, embeddings, found flags, and in gen
mode the generated texts), written atomically as soon as the chunk is done: a killed run loses
at most the chunk in flight and the next run embeds only what no shard holds. Evaluation and
indexing share this format, so one cache directory serves both.

Shard names carry the writer's host and process id and a random token, so processes on several
machines can write into one (shared) folder; the temporary file of a writer that was killed is
removed by the next cache opened on its host once that process is gone.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import socket
from pathlib import Path

import numpy as np

from umer1.engine.params import EmbedSpec
from umer1.utils.files import atomic_path, write_json


HOST = re.sub(r"[^A-Za-z0-9]", "", socket.gethostname())[:32] or "host"
_TEMP = re.compile(r"\.shard-\d+-(?:(?P<host>[A-Za-z0-9]+)-)?(?P<pid>\d+)(?:-[0-9a-f]+)?\.npz\.[0-9a-f]+\.tmp")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temps(directory: str | Path) -> list[Path]:
    """Remove the temporary shard files of writers on this host that no longer run."""
    removed = []
    for tmp in Path(directory).glob(".shard-*.tmp"):
        m = _TEMP.fullmatch(tmp.name)
        if m and (m["host"] or HOST) == HOST and not _alive(int(m["pid"])):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


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
        remove_stale_temps(self.dir)
        self._emb: dict[str, np.ndarray] = {}
        self._found: dict[str, np.ndarray] = {}
        self._texts: dict[str, str] = {}
        self._loaded: set[str] = set()
        self.refresh()

    def refresh(self) -> None:
        """Load shards written since the last look (also those of other processes)."""
        for shard in sorted(self.dir.glob("shard-*.npz")):
            if shard.name in self._loaded:
                continue
            with np.load(shard, allow_pickle=False) as z:
                keys, emb, found = z["keys"], z["emb"], z["found"]
                texts = z["texts"].tolist() if "texts" in z.files else None
            self._remember(keys.tolist(), emb, found, texts)
            self._loaded.add(shard.name)

    def _remember(self, keys: list[str], emb, found, texts) -> None:
        for i, k in enumerate(keys):
            self._emb[k] = emb[i]
            self._found[k] = found[i]
            if texts is not None:
                self._texts[k] = texts[i]

    def __contains__(self, key: str) -> bool:
        return key in self._emb

    def __len__(self) -> int:
        return len(self._emb)

    def get(self, keys: list[str]) -> tuple[np.ndarray, np.ndarray]:
        return np.stack([self._emb[k] for k in keys]), np.stack([self._found[k] for k in keys])

    def texts(self, keys: list[str]) -> list[str | None]:
        """The generated texts of gen-mode entries (None where a shard did not keep one)."""
        return [self._texts.get(k) for k in keys]

    def put(self, keys: list[str], emb: np.ndarray, found: np.ndarray, write: bool = True,
            texts: list[str] | None = None) -> None:
        """Remember new embeddings; `write` also stores them as a shard (one writer per set)."""
        if write:
            name = f"shard-{len(self._loaded):06d}-{HOST}-{os.getpid()}-{secrets.token_hex(3)}.npz"
            arrays = {"keys": np.asarray(keys, dtype="U40"), "emb": emb.astype(np.float32),
                      "found": found.astype(bool)}
            if texts is not None:
                arrays["texts"] = np.asarray(texts, dtype=str)
            with atomic_path(self.dir / name) as tmp, open(tmp, "wb") as fh:
                np.savez(fh, **arrays)
            self._loaded.add(name)
        self._remember(keys, emb, found, texts)
