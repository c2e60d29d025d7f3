"""Helpers for the index tests."""
from __future__ import annotations

import json

import numpy as np

TEXTS = ["a cat on a mat", "stock markets fell sharply", "a recipe for bread",
         "the moon landing", "how to tie a knot", "rain in the mountains"]


def write_corpus(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def unit_vectors(n, d, seed=0):
    x = np.random.default_rng(seed).standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)
