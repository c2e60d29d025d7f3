"""What every reader returns (`TaskData`) and the helpers the layouts share."""
from __future__ import annotations

import glob
import hashlib
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image

from umer1.engine.inputs import EmbedInput, read_jsonl
from umer1.utils.errors import InputError

# Phi-3-V style image markers left in some MMEB texts; our prompt places visuals itself.
_IMAGE_MARKERS = ("<|image_1|>", "<image>")


@dataclass
class TaskData:
    """A loaded task: queries, ranking units, labels (unit -> relevance), optional local pools."""
    queries: list[EmbedInput]
    query_ids: list[str]
    candidates: list[EmbedInput]
    candidate_ids: list[str]
    labels: list[dict[int, float]]
    pools: list[list[int]] | None       # None: every query ranks all candidates (global)
    graded: bool = False
    num_data: int = 0                   # queries in the task before --max-queries
    revision: str | None = None
    files: list[str] = field(default_factory=list)


class Units:
    """Ranking units de-duplicated by an id or their description (text + visual references)."""

    def __init__(self):
        self.items: list[EmbedInput] = []
        self.ids: list[str] = []
        self._index: dict[Any, int] = {}

    def __contains__(self, key) -> bool:
        return key in self._index

    def add(self, item: EmbedInput, uid: str | None = None) -> int:
        key = uid if uid is not None else _describe(item)
        if key not in self._index:
            self._index[key] = len(self.items)
            self.items.append(item)
            self.ids.append(uid if uid is not None else str(len(self.ids)))
        return self._index[key]


def _describe(item: EmbedInput):
    ims = tuple(str(i) if not isinstance(i, Image.Image) else id(i) for i in item.images)
    vid = tuple(str(f) for f in item.video) if item.video else None
    return item.text, ims, vid


def join(instruction: str, text: str) -> str:
    """An instruction and a text as one string, without MMEB's leftover image markers."""
    for marker in _IMAGE_MARKERS:
        text = text.replace(marker, "")
        instruction = instruction.replace(marker, "")
    return " ".join(p for p in (instruction.strip(), text.strip()) if p)


def with_instruction(row: dict, instruction: str) -> dict:
    row = dict(row)
    row["text"] = join(instruction, row.get("text") or "")
    return row


def find(base: Path, patterns: tuple[str, ...]) -> list[Path]:
    """`base` itself if it is a file, else the matches of the first pattern that has any."""
    if base.is_file():
        return [base]
    for pat in patterns:
        hits = sorted(Path(p) for p in glob.glob(str(base / pat)))
        if hits:
            return hits
    return []


def read_table(files: list[Path]) -> list[tuple[str, int, dict]]:
    """(file, row from 1, record) for JSONL or parquet files."""
    rows = []
    for f in files:
        if f.suffix == ".parquet":
            import pyarrow.parquet as pq
            try:
                table = pq.read_table(f).to_pylist()
            except Exception as exc:  # pyarrow raises several types for corrupt files
                raise InputError(f"cannot read parquet: {exc}", file=str(f)) from None
            rows.extend((str(f), n, r) for n, r in enumerate(table, start=1))
        else:
            rows.extend((str(f), n, r) for n, r in read_jsonl(f))
    return rows


def read_revision(base: Path) -> str | None:
    folder = base if base.is_dir() else base.parent
    for name in ("REVISION", "revision.txt"):
        if (folder / name).is_file():
            return (folder / name).read_text().strip() or None
    return None


def media(value: Any, root: Path, field_name: str):
    """A path relative to the media root, or an image from embedded bytes (parquet)."""
    if isinstance(value, dict) and value.get("bytes"):
        return _image_from_bytes(value["bytes"], field_name)
    if isinstance(value, (bytes, bytearray)):
        return _image_from_bytes(bytes(value), field_name)
    if isinstance(value, dict) and value.get("path"):
        value = value["path"]
    if not isinstance(value, str) or not value:
        raise InputError("expected an image path or image bytes", field=field_name)
    p = Path(value)
    return str(p if p.is_absolute() else root / p)


def _image_from_bytes(data: bytes, field_name: str):
    try:
        im = Image.open(io.BytesIO(data))   # lazy: decoded when embedded
    except Exception as exc:
        raise InputError(f"cannot read embedded image bytes: {exc}", field=field_name) from None
    im.info["content_sha1"] = hashlib.sha1(data).hexdigest()  # the cache key of this image
    return im
