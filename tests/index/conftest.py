"""A small corpus (text rows and image rows) written to disk for index tests."""
from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

TEXTS = ["a cat on a mat", "stock markets fell sharply", "a recipe for bread",
         "the moon landing", "how to tie a knot", "rain in the mountains"]


def write_corpus(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture()
def corpus(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(2):
        Image.fromarray(rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)).save(tmp_path / f"im{i}.png")
    rows = [{"id": f"doc{i}", "text": t, "source": "unit"} for i, t in enumerate(TEXTS)]
    rows += [{"id": "img0", "image": "im0.png"}, {"text": "a photo", "image": "im1.png"}]
    return write_corpus(tmp_path / "corpus.jsonl", rows)


def unit_vectors(n, d, seed=0):
    x = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)
