"""The shared embedding cache: keys, shards, one fingerprint, and eval and index sharing it."""
from __future__ import annotations

import dataclasses

import numpy as np

from umer1.engine.fingerprint import model_fingerprint
from umer1.engine.inputs import EmbedInput
from umer1.engine.params import EmbedSpec, GenParams, Mode
from umer1.index import add_corpus, model_identity
from umer1.store import Embedder, EmbeddingCache, cache_key
from tests.index.util import TEXTS, write_corpus


def test_cache_key_separates_what_changes_an_embedding():
    disc, gen3, gen4 = EmbedSpec(), EmbedSpec(Mode.GEN, GenParams(3)), EmbedSpec(Mode.GEN, GenParams(4))
    keys = {cache_key("m1", s) for s in (disc, gen3, gen4)} | {cache_key("m2", disc)}
    assert len(keys) == 4
    # disc ignores generation parameters: one cache whatever they are
    assert cache_key("m1", EmbedSpec(Mode.DISC, GenParams(3))) == cache_key("m1", disc)


def test_shards_survive_a_new_process(tmp_path):
    cache = EmbeddingCache(tmp_path, "m1", EmbedSpec(), model_name="tiny")
    emb = np.arange(6, dtype=np.float32).reshape(2, 3)
    cache.put(["a", "b"], emb, np.array([True, False]))
    again = EmbeddingCache(tmp_path, "m1", EmbedSpec())
    got, found = again.get(["b", "a"])
    assert len(again) == 2 and found.tolist() == [False, True]
    np.testing.assert_array_equal(got, emb[::-1])
    assert "b" not in EmbeddingCache(tmp_path, "m2", EmbedSpec())


def test_one_fingerprint_for_index_and_cache(tiny_model, monkeypatch):
    fp = model_fingerprint(tiny_model)
    assert model_identity(tiny_model)["fingerprint"] == fp
    assert Embedder(tiny_model, "unused", show_progress=False).fingerprint == fp
    monkeypatch.setattr(tiny_model, "settings",
                        dataclasses.replace(tiny_model.settings,
                                            max_pixels=tiny_model.settings.max_pixels // 2))
    assert model_fingerprint(tiny_model) != fp      # other settings: other embeddings


def test_an_index_build_warms_the_cache_eval_reads(tmp_path, tiny_model, monkeypatch):
    src = write_corpus(tmp_path / "c.jsonl", [{"id": i, "text": t} for i, t in enumerate(TEXTS)])
    add_corpus(tmp_path / "idx", tiny_model, src, create=True, cache_dir=tmp_path / "cache",
               show_progress=False)
    assert list((tmp_path / "cache").glob("*/shard-*.npz"))    # an explicit cache is kept
    calls = []
    real = tiny_model.encode
    monkeypatch.setattr(tiny_model, "encode", lambda items, **kw: calls.append(len(items)) or
                        real(items, **kw))
    emb, _ = Embedder(tiny_model, tmp_path / "cache", show_progress=False).embed(
        [EmbedInput(t) for t in TEXTS], EmbedSpec())
    assert calls == []
    np.testing.assert_allclose(emb, real(TEXTS), atol=1e-5)
