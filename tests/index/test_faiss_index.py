"""EmbeddingIndex on its own: kinds, ids and metadata, save/load, adds, refusals."""
from __future__ import annotations

import numpy as np
import pytest

from umer1 import InputError
from umer1.index import EmbeddingIndex
from tests.index.util import unit_vectors

D = 16


def info(fingerprint="abc", aligned=False):
    return {"name": "m", "path": None, "fingerprint": fingerprint, "dim": D,
            "settings": {"spaces_aligned": aligned}}


@pytest.mark.parametrize("kind", ["flat", "ivf", "hnsw"])
def test_each_kind_finds_itself_and_round_trips(tmp_path, kind):
    x = unit_vectors(300, D)
    idx = EmbeddingIndex.create(info(), "disc", kind=kind, nlist=8)
    idx.add(x, [f"r{i}" for i in range(300)], [{"n": i} for i in range(300)])
    hits = idx.search(x[:20], k=3, nprobe=8)
    assert [h[0].id for h in hits] == [f"r{i}" for i in range(20)]
    assert hits[5][0].metadata == {"n": 5} and hits[5][0].score == pytest.approx(1.0, abs=1e-5)
    idx.save(tmp_path)
    back = EmbeddingIndex.load(tmp_path)
    assert (back.kind, back.mode, len(back)) == (kind, "disc", 300)
    again = back.search(x[:20], k=3, nprobe=8)
    assert [[h.id for h in r] for r in again] == [[h.id for h in r] for r in hits]


def test_flat_is_exact(tmp_path):
    x, q = unit_vectors(50, D, 1), unit_vectors(4, D, 2)
    idx = EmbeddingIndex.create(info(), "disc")
    idx.add(x, list(range(50)))
    hits = idx.search(q, k=5)
    want = np.argsort(-(q @ x.T), axis=1)[:, :5]
    assert [[h.id for h in r] for r in hits] == want.tolist()
    np.testing.assert_allclose([h.score for h in hits[0]], (q @ x.T)[0, want[0]], atol=1e-5)
    assert len(idx.search(q, k=500)[0]) == 50       # k larger than the index


def test_incremental_add_keeps_one_generation(tmp_path):
    x = unit_vectors(30, D)
    idx = EmbeddingIndex.create(info(), "gen")
    idx.add(x[:10], [f"a{i}" for i in range(10)])
    idx.save(tmp_path)
    idx = EmbeddingIndex.load(tmp_path)
    idx.add(x[10:], [f"b{i}" for i in range(20)], [{"k": i} for i in range(20)])
    idx.save(tmp_path)
    back = EmbeddingIndex.load(tmp_path)
    assert len(back) == 30 and back.manifest["generation"] == 2
    assert back.search(x[25], k=1)[0][0].id == "b15"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["index.json", "meta-00002.jsonl",
                                                          "vectors-00002.faiss"]


def test_interrupted_save_leaves_previous_index(tmp_path):
    x = unit_vectors(10, D)
    idx = EmbeddingIndex.create(info(), "disc")
    idx.add(x[:5], list(range(5)))
    idx.save(tmp_path)
    # A save killed after writing the new vectors but before the manifest: the old one stands.
    (tmp_path / "vectors-00002.faiss").write_bytes(b"partial")
    assert len(EmbeddingIndex.load(tmp_path)) == 5


def test_duplicate_ids_refused():
    idx = EmbeddingIndex.create(info(), "disc")
    idx.add(unit_vectors(2, D), ["a", "b"])
    with pytest.raises(InputError, match="duplicate id 'a'"):
        idx.add(unit_vectors(1, D), ["a"])
    with pytest.raises(InputError, match="duplicate id 'c'"):
        idx.add(unit_vectors(2, D), ["c", "c"])
    assert len(idx) == 2


def test_query_refusals():
    idx = EmbeddingIndex.create(info(), "disc")
    idx.check_query(info(), "disc")
    with pytest.raises(InputError, match="other weights or embedding settings"):
        idx.check_query(info("xyz"), "disc")
    with pytest.raises(InputError, match="not aligned") as exc:
        idx.check_query(info(), "gen")
    assert exc.value.field == "mode"
    aligned = EmbeddingIndex.create(info(aligned=True), "disc")
    aligned.check_query(info(aligned=True), "gen")     # allowed: the spaces were trained aligned


def test_not_an_index(tmp_path):
    with pytest.raises(InputError, match="no index.json"):
        EmbeddingIndex.load(tmp_path)
    with pytest.raises(InputError, match="unknown index kind"):
        EmbeddingIndex.create(info(), "disc", kind="lsh")
