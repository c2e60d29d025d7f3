"""Embedding settings saved beside a checkpoint (`umer1.json`), so a model carries its own format.

Released UME-R1 checkpoints have no such file: the defaults below are their format.
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

    @classmethod
    def load(cls, directory: str | Path | None) -> "EmbeddingSettings":
        path = Path(directory) / SETTINGS_FILE if directory else None
        if path is None or not path.is_file():
            return cls()
        data = json.loads(path.read_text())
        known = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def save(self, directory: str | Path) -> None:
        path = Path(directory) / SETTINGS_FILE
        path.write_text(json.dumps(dataclasses.asdict(self), indent=2) + "\n")
