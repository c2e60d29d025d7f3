"""Helpers for the server tests: a server factory, images as data URLs."""
from __future__ import annotations

import base64
import io
from dataclasses import dataclass

from PIL import Image

from umer1 import UMEModel
from umer1.serve import BackgroundServer, ServeConfig, ServeLimits, create_app

API_KEY = "test-key-123"
MODEL_ID = "tiny-ume"
GEN_TOKENS = 8


@dataclass
class Served:
    url: str
    model: UMEModel          # a separate instance from the server's, for offline reference
    app: object


def start_server(model_dir, *, api_key=API_KEY, encode_fn=None, config_overrides=None,
                 **limit_overrides):
    limits = ServeLimits(**{**dict(max_inputs_per_request=16, max_image_bytes=20_000,
                                   max_image_pixels=128 * 128, max_new_tokens=GEN_TOKENS),
                            **limit_overrides})
    config = ServeConfig(model_name=MODEL_ID, api_key=api_key, max_batch_size=16,
                         max_wait_s=0.02, limits=limits, **(config_overrides or {}))
    app = create_app(UMEModel.from_pretrained(model_dir), config, encode_fn=encode_fn)
    return BackgroundServer(app, "127.0.0.1", 0), app


def data_url(image: Image.Image, fmt: str = "PNG") -> str:
    buf = io.BytesIO()
    image.save(buf, format=fmt)
    return f"data:image/{fmt.lower()};base64," + base64.b64encode(buf.getvalue()).decode()


def color_image(seed: int, size=(40, 30)) -> Image.Image:
    import numpy as np
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 255, (size[1], size[0], 3), dtype=np.uint8))
