"""A real server on 127.0.0.1 (a free port) in front of the tiny model; always stopped."""
from __future__ import annotations

import pytest

from tests.serve.util import Served, start_server


@pytest.fixture(scope="module")
def served(tiny_model_dir, tiny_model):
    server, app = start_server(tiny_model_dir)
    server.start()
    try:
        yield Served(server.url, tiny_model, app)
    finally:
        server.stop()
