"""Tiny SFT datasets written to temporary folders (PIL images, JSONL in the released format)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from umer1.engine.prompts import GENERATION_PROMPT

COLORS = {"red": (220, 20, 20), "green": (20, 200, 20), "blue": (20, 20, 220), "yellow": (230, 230, 20),
          "black": (10, 10, 10), "white": (245, 245, 245), "purple": (140, 20, 160), "orange": (250, 140, 10)}


def human(text: str, image: bool) -> str:
    return ("<image>\n" if image else "") + f"{text}\n<disc_emb>\n{GENERATION_PROMPT}"


def answer(summary: str, closed: bool = False) -> str:
    end = "</answer>" if closed else ""
    return f"<think>It shows {summary}.</think><answer>{summary}{end}\n<gen_emb>"


def write_sft_data(root: Path, n_pairs: int = 16, *, datasets=("colors", "captions")) -> Path:
    """Image -> caption pairs in the released format, grouped by dataset name in file order."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "img").mkdir(exist_ok=True)
    names = list(COLORS)
    rows = []
    for i in range(n_pairs):
        c = names[i % len(names)]
        path = root / "img" / f"{i}.png"
        Image.new("RGB", (56, 56), COLORS[c]).save(path)
        ds = datasets[(i * len(datasets)) // n_pairs]
        rows.append({"dataset_name": ds,
                     "qry": {"image": f"img/{i}.png",
                             "conversations": [{"from": "human", "value": human("Represent the given image", True)},
                                               {"from": "gpt", "value": answer(f"a {c} square")}]},
                     "pos": {"conversations": [{"from": "human", "value": human(f"A picture that is {c}", False)},
                                               {"from": "gpt", "value": answer(f"the colour {c}", i % 2 == 0)}]}})
    path = root / "sft.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def sft_data(tmp_path):
    return write_sft_data(tmp_path / "data")


@pytest.fixture(scope="session")
def sft_writer():
    """The dataset writer, for fixtures of wider scope."""
    return write_sft_data
