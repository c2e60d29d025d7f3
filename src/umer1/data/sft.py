"""SFT pairs: readers for the released UME-sft-train JSONL and the project's own format, and
the grouped batch order (one source dataset per group).

Released record (spec section 3), one row per pair:
    {"dataset_name": str, "qry": SIDE, "pos": SIDE}
    SIDE = {"image": path | [paths] (optional), "video": [frame paths] (optional),
            "conversations": [{"from": "human", "value": "<image>\\nTEXT\\n<disc_emb>\\n..."},
                              {"from": "gpt", "value": "<think>...</think><answer>SUMMARY\\n<gen_emb>"}]}
The human turn is rendered as written (placeholders in place, whitespace kept); answers
without `</answer>` and stray teacher markup are accepted as plain text.

Own record (docs/training.md): the user text is rendered with the inference format:
    {"dataset_name": str (optional), "query": SIDE, "positive": SIDE}
    SIDE = {"text": str, "image": path | [paths], "video": [frame paths] | folder,
            "answer": "<think>...</think><answer>SUMMARY\\n<gen_emb>"}
Relative paths are taken from `data_root` (default: the JSONL file's folder).
"""
from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from pathlib import Path

from umer1.utils.errors import InputError
from umer1.engine.inputs import check_image_file, frame_files, read_jsonl
from umer1.engine.prompts import DISC_TOKEN, GEN_TOKEN, IMAGE_PLACEHOLDER, VIDEO_PLACEHOLDER

log = logging.getLogger(__name__)


@dataclass
class SFTSide:
    text: str                         # released: the human turn as written; own: TEXT
    answer: str                       # the assistant turn (reasoning, summary, <gen_emb>)
    images: list[str] = field(default_factory=list)
    video: list[str] | None = None    # frame paths
    released: bool = True             # render with render_sft_side (True) or prepare (False)


@dataclass
class SFTPair:
    dataset: str
    query: SFTSide
    target: SFTSide
    row: int                          # 1-based row in the source file


def read_sft(path: str | Path, data_root: str | Path | None = None, *,
             check_files: bool = True) -> list[SFTPair]:
    """Every pair of an SFT JSONL file, validated (files checked unless `check_files=False`)."""
    path = Path(path)
    root = Path(data_root) if data_root is not None else path.parent
    pairs = []
    for n, row in read_jsonl(path):
        try:
            pairs.append(parse_pair(row, root, n, check_files=check_files))
        except InputError as exc:
            raise exc.located(file=str(path), row=n) from None
    if not pairs:
        raise InputError("no SFT pairs (the file is empty)", file=str(path))
    return pairs


def parse_pair(row: dict, root: Path, n: int = 0, *, check_files: bool = True) -> SFTPair:
    dataset = row.get("dataset_name", "default")
    if not isinstance(dataset, str) or not dataset:
        raise InputError("must be a non-empty string", field="dataset_name")
    if "qry" in row or "pos" in row:
        sides = [_released_side(row, key, root) for key in ("qry", "pos")]
    elif "query" in row or "positive" in row:
        sides = [_own_side(row, key, root) for key in ("query", "positive")]
    else:
        raise InputError("a pair needs 'qry' and 'pos' (released format) or 'query' and "
                         "'positive' (own format)", field="qry")
    if check_files:
        for key, side in zip(("qry", "pos") if sides[0].released else ("query", "positive"), sides):
            for p in side.images:
                _check(p, f"{key}.image")
            for p in side.video or []:
                _check(p, f"{key}.video")
    return SFTPair(dataset, sides[0], sides[1], n)


def _check(path: str, field_name: str) -> None:
    try:
        check_image_file(path, field_name)
    except InputError as exc:
        raise InputError(exc.message, field=field_name) from None


def _paths(value, root: Path, field_name: str) -> list[str]:
    if value is None or value == "" or value == []:
        return []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise InputError("must be a path or a list of paths", field=field_name)
    return [v if Path(v).is_absolute() else str(root / v) for v in value]


def _video(value, root: Path, field_name: str) -> list[str] | None:
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, str):
        p = value if Path(value).is_absolute() else str(root / value)
        return frame_files(p, field_name)
    return _paths(value, root, field_name)


def _answer_checks(answer, field_name: str) -> str:
    if not isinstance(answer, str) or not answer.strip():
        raise InputError("the answer must be a non-empty string", field=field_name)
    if GEN_TOKEN not in answer:
        raise InputError(f"the answer has no {GEN_TOKEN}: the generative embedding would have "
                         "nowhere to be read", field=field_name)
    return answer


def _released_side(row: dict, key: str, root: Path) -> SFTSide:
    side = row.get(key)
    if not isinstance(side, dict):
        raise InputError("missing or not an object", field=key)
    conv = side.get("conversations")
    if not isinstance(conv, list) or len(conv) < 2:
        raise InputError("must be a list of a human and a gpt turn", field=f"{key}.conversations")
    for i, (turn, who) in enumerate(zip(conv[:2], ("human", "gpt"))):
        f = f"{key}.conversations[{i}]"
        if not isinstance(turn, dict) or turn.get("from") != who:
            raise InputError(f"turn {i} must be {{'from': '{who}', 'value': ...}}", field=f)
        if not isinstance(turn.get("value"), str):
            raise InputError("must be a string", field=f + ".value")
    human = conv[0]["value"]
    if DISC_TOKEN not in human:
        raise InputError(f"the human turn has no {DISC_TOKEN}", field=f"{key}.conversations[0].value")
    answer = _answer_checks(conv[1]["value"], f"{key}.conversations[1].value")
    images = _paths(side.get("image"), root, f"{key}.image")
    video = _video(side.get("video"), root, f"{key}.video")
    n_img, n_vid = human.count(IMAGE_PLACEHOLDER), human.count(VIDEO_PLACEHOLDER)
    if n_img > len(images):
        raise InputError(f"the human turn has {n_img} <image> placeholders but the side has "
                         f"{len(images)} images", field=f"{key}.image")
    if n_vid > (1 if video else 0):
        raise InputError("the human turn has a <video> placeholder but the side has no video",
                         field=f"{key}.video")
    return SFTSide(human, answer, images, video, released=True)


def _own_side(row: dict, key: str, root: Path) -> SFTSide:
    side = row.get(key)
    if not isinstance(side, dict):
        raise InputError("missing or not an object", field=key)
    text = side.get("text", "")
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise InputError("must be a string", field=f"{key}.text")
    images = _paths(side.get("image", side.get("images")), root, f"{key}.image")
    video = _video(side.get("video"), root, f"{key}.video")
    if not text.strip() and not images and not video:
        raise InputError("empty side: no text, image or video", field=f"{key}.text")
    answer = _answer_checks(side.get("answer"), f"{key}.answer")
    return SFTSide(text, answer, images, video, released=False)


# ----- batch order --------------------------------------------------------------------------
def group_batches(datasets: list[str], batch_size: int, *, group_size: int | None = None,
                  order: str = "file", seed: int = 0, epoch: int = 0) -> tuple[list[list[int]], int]:
    """Batches of pair indices, each made of whole groups of one source dataset.

    A group is `group_size` (default: `batch_size`) pairs of one dataset; a batch is
    `batch_size // group_size` groups. order="file": groups are consecutive rows of a run of
    one dataset, in file order (the reference reads the pre-grouped file this way);
    order="shuffle": each dataset's pairs are shuffled, cut into groups, and the groups
    shuffled, all seeded by (seed, epoch). Pairs that do not fill a group (and groups that do
    not fill the last batch) are left out: returns (batches, number of pairs left out).
    """
    group_size = group_size or batch_size
    if batch_size < 1 or group_size < 1 or batch_size % group_size:
        raise InputError(f"the batch size ({batch_size}) must be a positive multiple of the "
                         f"group size ({group_size})", field="data.group_size")
    groups: list[list[int]] = []
    left = 0
    if order == "file":
        start = 0
        for i in range(1, len(datasets) + 1):
            if i == len(datasets) or datasets[i] != datasets[start]:
                run = list(range(start, i))
                full = len(run) - len(run) % group_size
                groups += [run[j:j + group_size] for j in range(0, full, group_size)]
                left += len(run) - full
                start = i
    elif order == "shuffle":
        rng = random.Random(f"{seed}:{epoch}")
        by_name: dict[str, list[int]] = {}
        for i, name in enumerate(datasets):
            by_name.setdefault(name, []).append(i)
        for name in sorted(by_name):
            idx = by_name[name]
            rng.shuffle(idx)
            full = len(idx) - len(idx) % group_size
            groups += [idx[j:j + group_size] for j in range(0, full, group_size)]
            left += len(idx) - full
        rng.shuffle(groups)
    else:
        raise InputError(f"unknown order {order!r}; expected 'file' or 'shuffle'", field="data.order")
    per = batch_size // group_size
    n_batches = len(groups) // per
    left += sum(len(g) for g in groups[n_batches * per:])
    batches = [sum(groups[b * per:(b + 1) * per], []) for b in range(n_batches)]
    return batches, left


def conversation_texts(path: str | Path, max_rows: int | None = None) -> list[str]:
    """The text of every turn of the first `max_rows` released-format records (both sides),
    e.g. to learn a compact vocabulary from training text only."""
    texts: list[str] = []
    for n, row in read_jsonl(path):
        if max_rows is not None and n > max_rows:
            break
        texts += [turn["value"] for side in ("qry", "pos") for turn in row[side]["conversations"]]
    return texts
