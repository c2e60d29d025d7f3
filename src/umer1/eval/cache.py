"""Embeddings cached on disk, keyed by model, mode, settings and input CONTENT.

A cache directory holds one folder per fingerprint (model + embedding settings + mode and
generation parameters). Inside, every embedded chunk is one `.npz` shard (keys, embeddings,
found flags), written atomically as soon as the chunk is done: a killed run loses at most
the chunk in flight and the next run embeds only what no shard holds.

An input's key hashes its text and the BYTES of its images / sampled video frames (not their
paths), so moving a data folder keeps the cache and changing an image invalidates it.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

import numpy as np
from PIL import Image

from umer1.engine.inputs import EmbedInput, sample_frames
from umer1.utils.files import atomic_path, write_json

_file_hashes: dict[tuple[str, int, int], str] = {}
_MEMO_LIMIT = 200_000   # entries; cleared past this so a long run's memory stays bounded


def _file_sha1(path: str) -> str:
    """Content hash of a file, memoised per (path, size, mtime) within the process."""
    try:
        st = os.stat(path)
    except OSError:
        return "missing:" + path   # reported as a missing file when it is embedded
    memo = (path, st.st_size, st.st_mtime_ns)
    if memo not in _file_hashes:
        if len(_file_hashes) >= _MEMO_LIMIT:
            _file_hashes.clear()
        h = hashlib.sha1()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        _file_hashes[memo] = h.hexdigest()
    return _file_hashes[memo]


def _visual_sha1(x) -> str:
    if isinstance(x, Image.Image):
        sha = x.info.get("content_sha1")   # set by readers of embedded image bytes
        if sha:
            return sha
        return hashlib.sha1(x.convert("RGB").tobytes() + repr(x.size).encode()).hexdigest()
    return _file_sha1(str(x))


def content_key(item: EmbedInput, video_frames: int) -> str:
    """A hex key for an input's content (text, image bytes, the frames that will be sampled)."""
    h = hashlib.sha1()
    h.update(b"T" + item.text.encode("utf-8") + b"\0")
    for im in item.images:
        h.update(b"I" + _visual_sha1(im).encode())
    if item.video is not None:
        h.update(b"V")
        for fr in sample_frames(item.video, video_frames):
            h.update(b"F" + _visual_sha1(fr).encode())
    return h.hexdigest()


def model_fingerprint(model) -> dict:
    """What identifies a model's embeddings: name, config, settings, weight files' stats."""
    info = {"name": str(model.name), "settings": dataclasses.asdict(model.settings),
            "config": hashlib.sha1(model.hf_model.config.to_json_string().encode()).hexdigest()}
    path = Path(str(model.name))
    if path.is_dir():   # local checkpoint: retraining into the same folder changes the weights
        info["weights"] = sorted((f.name, f.stat().st_size, f.stat().st_mtime_ns)
                                 for f in path.iterdir() if f.suffix in (".safetensors", ".bin"))
    adapter = getattr(model.model, "peft_config", None)
    if adapter:
        info["adapter"] = repr(adapter)
    return info


def fingerprint(model_info: dict, mode_info: dict) -> str:
    blob = json.dumps({"model": model_info, "mode": mode_info}, sort_keys=True, default=str)
    return hashlib.sha1(blob.encode()).hexdigest()[:16]


class EmbeddingCache:
    """Append-only shards under `root/fingerprint/`; `get` / `put` by content key."""

    def __init__(self, root: str | Path, key: str, describe: dict | None = None):
        self.dir = Path(root) / key
        self.dir.mkdir(parents=True, exist_ok=True)
        if describe is not None and not (self.dir / "meta.json").is_file():
            write_json(self.dir / "meta.json", describe)   # for people looking at the folder
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
