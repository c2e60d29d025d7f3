"""Helpers for the server tests: a server factory, images as data URLs."""
from __future__ import annotations

import base64
import contextlib
import io
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

import httpx

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


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def cli_server(args: list[str], *, env: dict | None = None, start_timeout: float = 90.0):
    """`umer1 serve ARGS --port <free>` as a user starts it (a subprocess on loopback), waited
    for on /health and always stopped; yields its base URL."""
    port = free_port()
    log = tempfile.TemporaryFile()        # its stderr: a file, so a chatty server never blocks
    proc = subprocess.Popen([sys.executable, "-m", "umer1.cli", "serve", *args, "--port", str(port)],
                            env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
                            stderr=log)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + start_timeout
        while True:
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None:
                log.seek(0)
                raise AssertionError("the server exited: " + log.read().decode(errors="replace"))
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
