"""Compressed and approximate kinds: IVF-PQ recall and memory on 100k vectors, the size
estimates against the written files, and the build's integrity checks."""
from __future__ import annotations

import time

import faiss
import numpy as np
import pytest

from umer1 import InputError
from umer1.index import EmbeddingIndex, add_corpus, kinds
from umer1.index.build import WORK_DIR
from umer1.index.report import exact_top_k
from umer1.store.cache import HOST, remove_stale_temps
from tests.index.util import write_corpus

D = 64


def mixture(n, d, seed, centres=100):
    """Unit vectors from a seeded mixture of Gaussians (the centres are fixed by seed 0)."""
    c = np.random.default_rng(0).standard_normal((centres, d)).astype(np.float32)
    g = np.random.default_rng(seed)
    x = c[g.integers(0, centres, n)] + 0.5 * g.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def info():
    return {"name": "m", "path": None, "fingerprint": "f", "dim": D, "settings": {}}


def recall(idx, x, q, k=10):
    exact = exact_top_k(q, [(0, x)], k)
    got = idx.search(q, k)
    return np.mean([len(set(e.tolist()) & {h.id for h in g}) / k for e, g in zip(exact, got)])


def test_ivfpq_on_100k_reaches_recall_at_a_fraction_of_flat_memory(tmp_path):
    """The documented setting (docs/scaling.md): nlist 256, PQ of dim/4 sub-quantizers,
    re-ranked from 8-bit codes, nprobe 16, k_factor 16; trained on a 5k seeded sample."""
    start = time.perf_counter()
    x, q = mixture(100_000, D, 1), mixture(200, D, 2)
    idx = EmbeddingIndex.create(info(), "disc", kind="ivfpq", nlist=256, train_size=5000)
    idx.add(x, list(range(len(x))))
    idx.save(tmp_path / "pq")
    r = recall(idx, x, q)
    flat = EmbeddingIndex.create(info(), "disc")
    flat.add(x, list(range(len(x))))
    flat.save(tmp_path / "flat")
    size = {n: (tmp_path / n / "vectors-00001.faiss").stat().st_size for n in ("pq", "flat")}
    fraction = size["pq"] / size["flat"]
    print(f"IVF-PQ recall@10 {r:.3f} at {fraction:.2f} of flat memory")
    assert r >= 0.9
    assert fraction < 0.45
    assert time.perf_counter() - start < 60     # ~10 s on an idle core


@pytest.mark.parametrize("kind", ["fp16", "sq8", "ivf", "ivfpq", "opq", "hnsw", "flat"])
def test_estimate_matches_the_written_size(tmp_path, kind):
    x = mixture(4000, D, 3)
    idx = EmbeddingIndex.create(info(), "disc", kind=kind, nlist=16, train_size=1000, pq_bits=6)
    idx.add(x, list(range(len(x))))
    idx.save(tmp_path)
    measured = (tmp_path / "vectors-00001.faiss").stat().st_size
    est = kinds.estimate(kind, D, len(x), idx.params)["total_bytes"]
    assert measured == pytest.approx(est, rel=0.1), (kind, measured, est)
    back = EmbeddingIndex.load(tmp_path)
    hits = back.search(x[:5], k=1)
    assert sum(h[0].id == i for i, h in enumerate(hits)) >= 4


def test_training_is_seeded(tmp_path):
    x = mixture(3000, D, 4)
    out = []
    for _ in range(2):
        idx = EmbeddingIndex.create(info(), "disc", kind="ivfpq", nlist=8, train_size=1000,
                                    pq_bits=4)
        idx.add(x, list(range(len(x))))
        out.append(faiss.serialize_index(idx.index))
    assert np.array_equal(out[0], out[1])


def test_bad_parameters_are_named():
    with pytest.raises(InputError) as exc:
        EmbeddingIndex.create(info(), "disc", kind="ivfpq", pq_m=7)
    assert exc.value.field == "--pq-m"
    with pytest.raises(InputError, match="unknown index kind"):
        EmbeddingIndex.create(info(), "disc", kind="pq")


def test_resume_with_another_corpus_is_refused(tmp_path, tiny_model, monkeypatch):
    src = write_corpus(tmp_path / "c.jsonl", [{"id": i, "text": f"row {i}"} for i in range(6)])
    real, calls = tiny_model.encode, []

    def dies_on_second_part(items, **kw):
        calls.append(len(items))
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(items, **kw)
    monkeypatch.setattr(tiny_model, "encode", dies_on_second_part)
    with pytest.raises(KeyboardInterrupt):
        add_corpus(tmp_path / "idx", tiny_model, src, create=True, chunk_size=3, show_progress=False)
    monkeypatch.setattr(tiny_model, "encode", real)
    write_corpus(src, [{"id": i, "text": f"another row {i}"} for i in range(6)])
    with pytest.raises(InputError, match="another corpus") as exc:
        add_corpus(tmp_path / "idx", tiny_model, src, create=True, chunk_size=3, show_progress=False)
    assert exc.value.file == str(src) and "\n" not in str(exc.value)
    # a stale temporary part of the killed writer is cleared when the build resumes
    write_corpus(src, [{"id": i, "text": f"row {i}"} for i in range(6)])
    tmp = tmp_path / "idx" / WORK_DIR / "parts" / ".part-000001.npz.abcd.tmp"
    tmp.write_bytes(b"partial")
    idx = add_corpus(tmp_path / "idx", tiny_model, src, create=True, chunk_size=3,
                     show_progress=False)
    assert len(idx) == 6 and not (tmp_path / "idx" / WORK_DIR).exists()


def test_stale_cache_temps_of_dead_writers_only(tmp_path):
    import os
    live = tmp_path / f".shard-000001-{HOST}-{os.getpid()}-abc.npz.00ff.tmp"
    dead = tmp_path / f".shard-000002-{HOST}-999999999-abc.npz.00ff.tmp"
    other = tmp_path / ".shard-000003-elsewhere-999999999-abc.npz.00ff.tmp"
    for f in (live, dead, other):
        f.write_bytes(b"x")
    assert remove_stale_temps(tmp_path) == [dead]
    assert live.exists() and other.exists()
