"""A small corpus with images and its disc and gen indexes, built with the real index package
for the search page tests (and scripts/search_page_screenshot.py)."""
from __future__ import annotations

import json
from pathlib import Path

from umer1.engine.params import GenParams
from umer1.index import add_corpus

from tests.serve.util import GEN_TOKENS, color_image

CAPTIONS = ["a red bus on a city street", "a dog running on a beach", "a bowl of ramen",
            "snow on a mountain ridge", "a cat asleep on a sofa", "a lighthouse at dusk"]


def write_corpus(folder: Path) -> Path:
    """corpus.jsonl with text rows and image rows (images in folder/images/, paths relative)."""
    (folder / "images").mkdir(parents=True, exist_ok=True)
    rows = []
    for i, caption in enumerate(CAPTIONS):
        name = f"images/photo_{i}.png"
        color_image(100 + i, (48, 36)).save(folder / name)
        rows.append({"id": f"img-{i}", "image": name, "text": caption})
        rows.append({"id": f"txt-{i}", "text": f"A caption: {caption}."})
    path = folder / "corpus.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


# The page has settled after a search: its state, or false while it is still busy.
PAGE_SETTLED = ("['done', 'error'].includes(document.body.dataset.state) && "
                "document.body.dataset.state")


def build_indexes(model, folder: Path, *, corpus: Path | None = None,
                  max_new_tokens: int = GEN_TOKENS) -> tuple[Path, Path]:
    """(disc index dir, gen index dir), written in `folder`, of `corpus` (default: the test
    corpus in `folder`, written there when missing)."""
    if corpus is None:
        corpus = folder / "corpus.jsonl"
        if not corpus.is_file():
            write_corpus(folder)
    dirs = []
    for mode in ("disc", "gen"):
        out = folder / f"index_{mode}"
        add_corpus(out, model, corpus, mode=mode, gen=GenParams(max_new_tokens=max_new_tokens),
                   create=True, show_progress=False)
        dirs.append(out)
    return dirs[0], dirs[1]
