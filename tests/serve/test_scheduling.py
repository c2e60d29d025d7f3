"""Fair scheduling and cancellation: disc and gen take turns, gen runs in bounded slices, and
work of a request whose client timed out or left is dropped."""
from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest

from umer1.engine.params import Mode
from umer1.serve.batcher import DynamicBatcher
from tests.serve.util import start_server


class FakeModel:
    """encode_fn stand-in: logs each call; gen calls block until released or stopped."""

    def __init__(self):
        self.calls: list[tuple[str, list[str]]] = []
        self.gen_started = threading.Event()
        self.release = threading.Event()

    def __call__(self, items, mode, should_stop):
        self.calls.append((mode.value, list(items)))
        if mode is Mode.GEN:
            self.gen_started.set()
            deadline = time.monotonic() + 10
            while not (self.release.is_set() or should_stop()) and time.monotonic() < deadline:
                time.sleep(0.005)
        return np.array([[float(x[1:])] for x in items], np.float32)


@pytest.fixture()
def fake():
    return FakeModel()


def _batcher(fake, **kw):
    return DynamicBatcher(fake, **{**dict(max_batch_size=4, max_gen_batch_size=2, max_wait_s=0.0),
                                   **kw})


def test_disc_runs_between_gen_slices(fake):
    b = _batcher(fake).start()
    try:
        gen = b.submit([f"g{i}" for i in range(6)], Mode.GEN)
        assert fake.gen_started.wait(10)
        disc = b.submit(["d0", "d1"], "disc")
        fake.release.set()
        assert disc.result(10).ravel().tolist() == [0, 1]
        assert gen.result(10).ravel().tolist() == [0, 1, 2, 3, 4, 5]
    finally:
        b.close()
    # The disc request waited for one gen slice only, not for the whole gen request.
    assert [(m, len(x)) for m, x in fake.calls] == [("gen", 2), ("disc", 2), ("gen", 2), ("gen", 2)]


def test_large_requests_are_sliced_and_take_turns(fake):
    b = _batcher(fake, max_batch_tokens=10)
    a = b.submit([f"a{i}" for i in range(5)], "disc")
    c = b.submit([f"c{i}" for i in range(5)], "disc")
    heavy = b.submit(["h0", "h1", "h2"], "disc", costs=[6, 6, 6])   # over the token budget: 1 each
    b.start()
    try:
        assert a.result(10).ravel().tolist() == [0, 1, 2, 3, 4]
        assert c.result(10).ravel().tolist() == [0, 1, 2, 3, 4]
        assert heavy.result(10).ravel().tolist() == [0, 1, 2]
    finally:
        b.close()
    assert [x for _, x in fake.calls] == [["a0", "a1", "a2", "a3"], ["c0", "c1", "c2", "c3"],
                                          ["h0"], ["a4", "c4", "h1"], ["h2"]]


def test_cancelled_request_is_abandoned_and_dropped(fake):
    b = _batcher(fake).start()
    try:
        gen = b.submit([f"g{i}" for i in range(6)], Mode.GEN)
        assert fake.gen_started.wait(10)
        assert gen.cancel()                  # the client timed out: still cancellable mid-way
        assert b.submit(["d7"], "disc").result(10).ravel().tolist() == [7]
    finally:
        b.close()
    # The running slice stopped through should_stop (not after 10 s); the rest never ran.
    assert [(m, len(x)) for m, x in fake.calls] == [("gen", 2), ("disc", 1)]
    assert b.stats.cancelled_inputs == 6 and b.stats.requests == 1
    assert not b.alive


# ----- the real server and the tiny model --------------------------------------------------
def _post(url, body, timeout=60):
    return httpx.post(url + "/v1/embeddings", json=body, timeout=timeout)


def test_gen_at_default_budget_does_not_block_disc(tiny_model_dir):
    """One gen request at the server's default budget (512 new tokens per input, which the
    random tiny model always spends) delays a disc request by at most one gen slice."""
    server, app = start_server(tiny_model_dir, api_key=None, max_new_tokens=512,
                               config_overrides=dict(max_gen_batch_size=1))
    with server, ThreadPoolExecutor(1) as pool:
        t0 = time.monotonic()
        gen = pool.submit(_post, server.url, {"input": [f"think {i}" for i in range(3)],
                                              "mode": "gen"})
        while app.state.batcher.stats.batches == 0:      # the first gen slice is done
            time.sleep(0.01)
        one_slice = time.monotonic() - t0
        t1 = time.monotonic()
        disc = _post(server.url, {"input": "quick"})
        waited = time.monotonic() - t1
        assert disc.status_code == 200
        assert not gen.done()                 # the gen request is still being generated
        assert waited < 3 * one_slice + 1.0, (waited, one_slice)
        assert gen.result().status_code == 200


def test_timed_out_gen_is_abandoned(tiny_model_dir):
    """A gen request at the full engine budget that times out stops computing: the next
    request is served at once instead of after thousands of decoding steps."""
    server, app = start_server(tiny_model_dir, api_key=None, max_new_tokens=8192,
                               request_timeout_s=0.5)
    with server:
        r = _post(server.url, {"input": ["long", "reasoning"], "mode": "gen"})
        assert r.status_code == 504 and r.json()["error"]["code"] == "timeout"
        t = time.monotonic()
        assert _post(server.url, {"input": "next"}).status_code == 200
        assert time.monotonic() - t < 3.0
        assert app.state.batcher.stats.cancelled_inputs == 2


def test_client_that_leaves_cancels_its_work(tiny_model_dir):
    server, app = start_server(tiny_model_dir, api_key=None, max_new_tokens=8192)
    with server:
        with pytest.raises(httpx.ReadTimeout):
            _post(server.url, {"input": ["left", "behind"], "mode": "gen"}, timeout=0.5)
        deadline = time.monotonic() + 5
        while app.state.batcher.stats.cancelled_inputs < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert app.state.batcher.stats.cancelled_inputs == 2
        assert _post(server.url, {"input": "next"}, timeout=5).status_code == 200
