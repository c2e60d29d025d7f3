"""Retrieval pairs to annotate: read, validated and given stable ids before any request is sent.

Three row layouts are accepted (detected per row, or forced with `layout`):
- "mmeb": MMEB-train / VLM2Vec rows `qry`, `qry_image_path`, `pos_text`, `pos_image_path`
  (optional `neg_text`, `neg_image_path`; the `<|image_1|>` placeholder in the text is dropped);
- "rl": UME-rl-train rows `qry_text`, `qry_image`, `qry_video`, `pos_text`, `pos_image`, `pos_video`;
- "umer1": this project's rows `{"id"?, "dataset_name"?, "qry": SIDE, "pos": SIDE}` with
  `SIDE = {"text", "image": path | [paths], "video": [frame paths] | folder}`.
Paths stay as written (relative to the image root) so the SFT records keep them relative.
Negatives are checked but not annotated: an SFT record has a query and a positive only.
A pair's sides are `query` and `target`; in the SFT record, the journal and the rejects file
they keep the released format's names `qry` and `pos` (RECORD_KEYS).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from umer1.utils.errors import InputError
from umer1.engine.inputs import IMAGE_SUFFIXES, frame_files, read_jsonl

LAYOUTS = ("auto", "mmeb", "rl", "umer1")
SIDES = ("query", "target")
RECORD_KEYS = {"query": "qry", "target": "pos"}
# VLM2Vec writes an image placeholder of its own into the text; the SFT human turn has `<image>`.
_VLM2VEC_IMAGE_TOKEN = re.compile(r"<\|image_\d+\|>")


@dataclass
class AnnotationSide:
    text: str = ""
    images: list[str] = field(default_factory=list)   # relative to the image root
    video: list[str] | None = None                     # frame paths, relative to the image root

    def is_empty(self) -> bool:
        return not self.text.strip() and not self.images and not self.video


@dataclass
class AnnotationPair:
    id: str
    row: int
    dataset_name: str
    query: AnnotationSide
    target: AnnotationSide

    def side(self, name: str) -> AnnotationSide:
        """The side called `name`, one of SIDES."""
        return self.query if name == "query" else self.target


def detect_layout(row: dict) -> str:
    if isinstance(row.get("qry"), dict) or isinstance(row.get("pos"), dict):
        return "umer1"
    if "qry_text" in row or "qry_image" in row or "qry_video" in row:
        return "rl"
    if "qry" in row or "qry_image_path" in row:
        return "mmeb"
    raise InputError("cannot tell the row layout: expected MMEB-train fields (qry, qry_image_path, "
                     "pos_text, pos_image_path), UME-rl-train fields (qry_text, qry_image, ...) "
                     "or {\"qry\": {...}, \"pos\": {...}}", field="qry")


def _text(row: dict, name: str) -> str:
    value = row.get(name, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InputError("must be a string", field=name)
    return _VLM2VEC_IMAGE_TOKEN.sub("", value).strip()


def _paths(value: Any, name: str) -> list[str]:
    """A path, a list of paths, or nothing ("" / null / [])."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) and v for v in value):
        return list(value)
    raise InputError("must be a path or a list of non-empty path strings", field=name)


def _video(value: Any, name: str, root: Path) -> list[str] | None:
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, str):   # a folder of frames, listed in name order
        frames = frame_files(root / value, name)
        return [f"{value.rstrip('/')}/{Path(f).name}" for f in frames]
    return _paths(value, name)


def _side(text: str, images: list[str], video: list[str] | None, fields: tuple[str, str, str],
          root: Path, check_files: bool) -> AnnotationSide:
    side = AnnotationSide(text, images, video)
    if side.is_empty():
        raise InputError("empty side: no text, image or video", field=fields[0])
    if check_files:
        for name, paths in ((fields[1], images), (fields[2], video or [])):
            for p in paths:
                full = root / p
                if Path(p).suffix.lower() not in IMAGE_SUFFIXES:
                    raise InputError(f"unsupported file type for {p}", field=name)
                if not full.is_file():
                    raise InputError(f"no such image file: {full}", field=name)
    return side


def parse_row(row: dict, layout: str, root: Path,
              check_files: bool = True) -> tuple[AnnotationSide, AnnotationSide, str | None]:
    """(query side, positive side, dataset name or None) of one row."""
    if layout == "auto":
        layout = detect_layout(row)
    if layout == "umer1":
        sides = []
        for name in RECORD_KEYS.values():
            raw = row.get(name)
            if not isinstance(raw, dict):
                raise InputError("must be an object {\"text\", \"image\", \"video\"}", field=name)
            sides.append(_side(_text(raw, "text") if "text" in raw else "",
                               _paths(raw.get("image", raw.get("images")), f"{name}.image"),
                               _video(raw.get("video"), f"{name}.video", root),
                               (f"{name}.text", f"{name}.image", f"{name}.video"), root, check_files))
        qry, pos = sides
    elif layout == "mmeb":
        qry = _side(_text(row, "qry"), _paths(row.get("qry_image_path"), "qry_image_path"), None,
                    ("qry", "qry_image_path", "qry_image_path"), root, check_files)
        pos = _side(_text(row, "pos_text"), _paths(row.get("pos_image_path"), "pos_image_path"), None,
                    ("pos_text", "pos_image_path", "pos_image_path"), root, check_files)
        if row.get("neg_text") or row.get("neg_image_path"):
            _text(row, "neg_text")
            _paths(row.get("neg_image_path"), "neg_image_path")
    elif layout == "rl":
        qry = _side(_text(row, "qry_text"), _paths(row.get("qry_image"), "qry_image"),
                    _video(row.get("qry_video"), "qry_video", root),
                    ("qry_text", "qry_image", "qry_video"), root, check_files)
        pos = _side(_text(row, "pos_text"), _paths(row.get("pos_image"), "pos_image"),
                    _video(row.get("pos_video"), "pos_video", root),
                    ("pos_text", "pos_image", "pos_video"), root, check_files)
    else:
        raise InputError(f"unknown layout {layout!r}; expected one of {', '.join(LAYOUTS)}",
                         field="--format")
    name = row.get("dataset_name")
    if name is not None and not isinstance(name, str):
        raise InputError("must be a string", field="dataset_name")
    return qry, pos, name


def _content_id(row: dict) -> str:
    return hashlib.sha1(json.dumps(row, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:16]


def read_annotation_pairs(path: str | Path, *, layout: str = "auto",
                          image_root: str | Path | None = None, dataset_name: str | None = None,
                          check_files: bool = True) -> list[AnnotationPair]:
    """Every pair of a JSONL file, all rows and files checked before any request.

    A pair's id is its `id` field when present, else a hash of the row's content (with an
    occurrence number for repeated rows), so inserting or reordering rows does not change the
    ids of the others: the journal of an interrupted run still matches after such an edit.
    """
    path = Path(path)
    root = Path(image_root) if image_root is not None else path.parent
    default_name = dataset_name or path.stem   # for rows without a dataset_name of their own
    pairs: list[AnnotationPair] = []
    seen: dict[str, int] = {}
    for n, row in read_jsonl(path):
        try:
            qry, pos, name = parse_row(row, layout, root, check_files)
            if "id" in row:
                if not isinstance(row["id"], (str, int)) or isinstance(row["id"], bool):
                    raise InputError("must be a string or an integer", field="id")
                pid = str(row["id"])
                if pid in seen:
                    raise InputError(f"duplicate id {pid!r} (first on row {seen[pid]})", field="id")
            else:
                base = _content_id(row)
                pid, k = base, 1
                while pid in seen:   # identical rows: same content, next occurrence number
                    pid, k = f"{base}#{k}", k + 1
        except InputError as exc:
            raise exc.located(file=str(path), row=n) from None
        seen[pid] = n
        pairs.append(AnnotationPair(pid, n, name or default_name, qry, pos))
    if not pairs:
        raise InputError("no pairs (the file is empty)", file=str(path))
    return pairs


def resolve(root: str | Path, p: str) -> str:
    return p if os.path.isabs(p) else str(Path(root) / p)
