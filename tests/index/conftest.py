"""A small corpus (text rows and image rows) written to disk for index tests."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.index.util import TEXTS, write_corpus


@pytest.fixture()
def corpus(tmp_path):
    rng = np.random.default_rng(0)
    for i in range(2):
        Image.fromarray(rng.integers(0, 255, (24, 32, 3), dtype=np.uint8)).save(tmp_path / f"im{i}.png")
    rows = [{"id": f"doc{i}", "text": t, "source": "unit"} for i, t in enumerate(TEXTS)]
    rows += [{"id": "img0", "image": "im0.png"}, {"text": "a photo", "image": "im1.png"}]
    return write_corpus(tmp_path / "corpus.jsonl", rows)
