"""Embedding settings saved beside a checkpoint (`umer1.json`), so a model carries its own format.

Released UME-R1 checkpoints have no such file: they get `EmbeddingSettings.reference()`, the
format of the reference evaluation and RL (docs/mmeb-v2-sources.md section 4): every image and
frame first goes through qwen-vl-utils' `fetch_image` resize (3,136 to 12,845,056 pixels, so the
28x28 blank image of a text-only input becomes 56x56, 4 visual tokens), then through the
processor's caps; frames keep near-native size. The reference SFT skipped that first resize
(blank image 28x28, 1 token; frames capped at 25,088 pixels): a model trained here carries the
settings it was trained with in its own umer1.json.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

from umer1.engine.prompts import PROMPT_FORMAT_VERSION

SETTINGS_FILE = "umer1.json"

# Pixel caps of the reference (spec section 2).
DEFAULT_MIN_PIXELS = 784
DEFAULT_MAX_PIXELS = 2_359_296
DEFAULT_VIDEO_MAX_PIXELS = 25_088
DEFAULT_VIDEO_FRAMES = 8
# qwen-vl-utils 0.0.8 fetch_image bounds (vision_process.py:25-26), applied by the reference
# evaluation and RL before the processor.
FETCH_MIN_PIXELS = 4 * 28 * 28
FETCH_MAX_PIXELS = 16384 * 28 * 28


@dataclass
class EmbeddingSettings:
    prompt_format: str = PROMPT_FORMAT_VERSION
    blank_image_for_text: bool = True   # attach a 28x28 white image to text-only inputs
    min_pixels: int = DEFAULT_MIN_PIXELS
    max_pixels: int = DEFAULT_MAX_PIXELS
    video_max_pixels: int = DEFAULT_VIDEO_MAX_PIXELS
    video_frames: int = DEFAULT_VIDEO_FRAMES
    # True only for models trained with cross-mode terms: then a gen-mode query may be
    # searched against a disc-mode corpus.
    spaces_aligned: bool = False
    # The resize qwen-vl-utils' fetch_image applies to every image and frame before the
    # processor (None: none, as in the reference SFT). Pixel bounds, resized in steps of 28.
    fetch_min_pixels: int | None = None
    fetch_max_pixels: int | None = None

    @classmethod
    def reference(cls) -> "EmbeddingSettings":
        """The released checkpoints' evaluation format (they ship no umer1.json)."""
        return cls(video_max_pixels=DEFAULT_MAX_PIXELS, fetch_min_pixels=FETCH_MIN_PIXELS,
                   fetch_max_pixels=FETCH_MAX_PIXELS)

    @classmethod
    def load(cls, directory: str | Path | None) -> "EmbeddingSettings":
        path = Path(directory) / SETTINGS_FILE if directory else None
        if path is None or not path.is_file():
            return cls.reference()
        data = json.loads(path.read_text())
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def save(self, directory: str | Path) -> None:
        path = Path(directory) / SETTINGS_FILE
        path.write_text(json.dumps(dataclasses.asdict(self), indent=2) + "\n")
