"""The Qwen3-VL training configs load, and their pixel caps are whole 32x32 visual tokens."""
from __future__ import annotations

from pathlib import Path

import pytest

from umer1.train.rl import RLConfig
from umer1.train.sft import SFTConfig
from umer1.utils.config import load_config

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("path, kind", [
    ("configs/sft/ume-qwen3vl-2b.yaml", SFTConfig), ("configs/sft/ume-qwen3vl-8b.yaml", SFTConfig),
    ("configs/rl/ume-qwen3vl-2b.yaml", RLConfig), ("configs/rl/ume-qwen3vl-8b.yaml", RLConfig)])
def test_qwen3_vl_configs_load_with_32_pixel_caps(path, kind):
    cfg = load_config(kind, REPO / path, [])
    caps = (cfg.model.min_pixels, cfg.model.max_pixels, cfg.model.video_max_pixels)
    assert all(c % (32 * 32) == 0 for c in caps)
    assert "qwen3" in cfg.model.base.lower()
