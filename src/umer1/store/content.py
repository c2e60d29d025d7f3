"""Content keys: an input's identity is its text and the BYTES of its visuals, not their paths.

Moving a data folder keeps the cache; changing an image invalidates it. A video is keyed by the
frames that will actually be sampled from it.
"""
from __future__ import annotations

import hashlib
import os

from PIL import Image

from umer1.engine.inputs import EmbedInput, sample_frames

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
