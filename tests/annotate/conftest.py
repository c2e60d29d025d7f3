"""Fixtures for the annotation tests: a loopback chat server and pair files with real images."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

from tests.annotate.chat_server import ChatServer


@pytest.fixture
def chat_server():
    """A factory: `with chat_server(**options) as s` gives a running server, stopped after."""
    servers = []

    def make(**kwargs) -> ChatServer:
        s = ChatServer(**kwargs)
        servers.append(s)
        return s
    yield make
    for s in servers:   # a test that failed half-way still stops its server
        if s.thread.is_alive():
            s.__exit__(None, None, None)


def write_pairs(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def make_image(path: Path, color=(200, 30, 30), size=(40, 30)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path)
    return path


@pytest.fixture
def image_dir(tmp_path):
    make_image(tmp_path / "images" / "cat.png")
    make_image(tmp_path / "images" / "dog.jpg", (20, 200, 20))
    for i in range(10):
        make_image(tmp_path / "frames" / f"{i:03d}.png", (i * 20, 0, 0), (16, 16))
    return tmp_path


def mmeb_rows(n: int, marker=lambda i: "") -> list[dict]:
    return [{"qry": f"<|image_1|>\nRepresent the given image {i}{marker(i)}",
             "qry_image_path": "images/cat.png", "pos_text": f"a red cat number {i}",
             "pos_image_path": ""} for i in range(n)]


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
