"""UME-rl-train records: one (query, target) pair per JSONL row, no reasoning (spec section 3).

Row: {"dataset_name", "qry_text", "qry_image": path | [paths] | "", "qry_video": [frames] | [],
      "pos_text", "pos_image", "pos_video"}. Paths are relative to `data_root` (default: the
file's folder). Either side may be text only (text-text pairs are fine: the blank-image rule of
the inference format applies later, when prompts are rendered). Visual placeholders that some
exports leave in the text (`<image>`, `<video>`, `<|image_1|>`) are removed: the RL prompt is
rendered with the inference format, which puts the visuals first.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from umer1.utils.errors import InputError
from umer1.engine.inputs import EmbedInput, input_from_row, read_jsonl, validate

_PLACEHOLDER = re.compile(r"<image>|<video>|<\|image_\d+\|>|<\|video_\d+\|>")


@dataclass
class RLPair:
    query: EmbedInput
    target: EmbedInput
    dataset: str = ""
    row: int = 0          # 1-based row in its file, for messages


def _side(row: dict, side: str, base_dir: Path, check_files: bool) -> EmbedInput:
    text = row.get(f"{side}_text", "")
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise InputError("must be a string", field=f"{side}_text")
    image = row.get(f"{side}_image", "")
    video = row.get(f"{side}_video")
    if video is not None and not isinstance(video, (list, str)):
        raise InputError("must be a list of frame paths", field=f"{side}_video")
    if video == [] or video == "":
        video = None
    try:
        item = input_from_row({"text": _PLACEHOLDER.sub("", text).strip(), "image": image,
                               "video": video}, base_dir=base_dir)
    except InputError as exc:
        raise InputError(exc.message, field=f"{side}_{exc.field or 'text'}") from None
    if check_files:
        try:
            validate(item)
        except InputError as exc:
            raise InputError(exc.message, field=f"{side}_{exc.field or 'image'}") from None
    return item


def parse_pair(row: dict, base_dir: str | Path, check_files: bool = True) -> RLPair:
    dataset = row.get("dataset_name", "")
    if dataset is not None and not isinstance(dataset, str):
        raise InputError("must be a string", field="dataset_name")
    base = Path(base_dir)
    return RLPair(query=_side(row, "qry", base, check_files),
                  target=_side(row, "pos", base, check_files), dataset=dataset or "")


def read_rl_pairs(path: str | Path, data_root: str | Path | None = None,
                  check_files: bool = True) -> list[RLPair]:
    """Every pair of a UME-rl-train JSONL file, each file checked before training starts."""
    path = Path(path)
    base = Path(data_root) if data_root is not None else path.parent
    pairs = []
    for n, row in read_jsonl(path):
        try:
            pair = parse_pair(row, base, check_files)
        except InputError as exc:
            raise exc.located(file=str(path), row=n) from None
        pair.row = n
        pairs.append(pair)
    if not pairs:
        raise InputError("no pairs (the file is empty)", file=str(path))
    return pairs
