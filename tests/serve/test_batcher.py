"""The dynamic batcher with the real model's encode: merging, mode separation, error isolation."""
from __future__ import annotations

import numpy as np
import pytest

from umer1 import EmbedInput, InputError
from umer1.serve.encode import make_encode_fn
from umer1.serve.batcher import DynamicBatcher, Overloaded


@pytest.fixture()
def batcher(tiny_model):
    b = DynamicBatcher(make_encode_fn(tiny_model, max_new_tokens=4),
                       max_batch_size=8, max_wait_s=0.05, max_queued_inputs=20)
    # Tests queue requests before starting the worker, so the merges are deterministic.
    try:
        yield b
    finally:
        b.close()


def test_merges_same_mode_and_isolates_errors(batcher, tiny_model):
    good = [batcher.submit([EmbedInput(text=f"text {i}")], "disc") for i in range(3)]
    gen = batcher.submit([EmbedInput(text="gen one")], "gen")
    bad = batcher.submit([EmbedInput(text="x", images=["/no/such/image.png"])], "disc")
    batcher.start()
    with pytest.raises(InputError):
        bad.result(timeout=30)
    got = np.concatenate([f.result(timeout=30) for f in good])
    got_gen = gen.result(timeout=30)
    batcher.close()   # the model is not thread-safe: no offline call while the worker runs
    np.testing.assert_allclose(got, tiny_model.encode([f"text {i}" for i in range(3)]), atol=1e-5)
    np.testing.assert_allclose(got_gen, tiny_model.encode(["gen one"], mode="gen", max_new_tokens=4),
                               atol=1e-5)
    # The merged disc call (3 good + 1 bad) failed, so each disc request was retried alone.
    assert (batcher.stats.requests, batcher.stats.batches) == (4, 4)


def test_merges_into_one_call(batcher):
    futures = [batcher.submit([EmbedInput(text=f"t{i}")] * 2, "disc") for i in range(4)]
    batcher.start()
    assert all(f.result(timeout=30).shape == (2, 64) for f in futures)
    assert (batcher.stats.batches, batcher.stats.largest_batch) == (1, 8)


def test_overload_and_cancel(batcher):
    first = batcher.submit([EmbedInput(text="a")] * 15, "disc")
    with pytest.raises(Overloaded):
        batcher.submit([EmbedInput(text="b")] * 6, "disc")
    cancelled = batcher.submit([EmbedInput(text="c")], "disc")
    assert cancelled.cancel()                   # a client that gave up before its turn
    batcher.start()
    assert first.result(timeout=30).shape == (15, 64)
    assert batcher.stats.inputs == 15


def test_calls_take_turns_with_batches_on_the_worker(batcher):
    import threading
    threads, order = set(), []

    def call(name, fail=False):
        def fn():
            threads.add(threading.current_thread().name)
            order.append(name)
            if fail:
                raise InputError("bad query", field="text")
            return name
        return fn

    first = batcher.submit([EmbedInput(text="a")], "disc")
    calls = [batcher.submit_call(call("c1")), batcher.submit_call(call("c2", fail=True))]
    skipped = batcher.submit_call(call("never"))
    assert skipped.cancel()                      # cancelled before its turn: never runs
    second = batcher.submit([EmbedInput(text="b")], "gen")
    batcher.start()
    assert calls[0].result(timeout=30) == "c1"
    with pytest.raises(InputError, match="bad query"):   # its own failure, the worker lives on
        calls[1].result(timeout=30)
    assert first.result(timeout=30).shape == second.result(timeout=30).shape == (1, 64)
    assert order == ["c1", "c2"] and threads == {"umer1-model-worker"}
    batcher.close()
    with pytest.raises(RuntimeError):
        batcher.submit_call(call("late"))
