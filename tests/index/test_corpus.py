"""Building, searching and extending an index with the real (tiny) model; resume after a kill."""
from __future__ import annotations

import numpy as np
import pytest

from umer1 import EmbedInput, InputError
from umer1.index import EmbeddingIndex, add_corpus, model_identity, search_inputs
from umer1.index.corpus import WORK_DIR
from tests.index.util import TEXTS, write_corpus


def test_build_search_reload_add(tmp_path, corpus, tiny_model):
    out = tmp_path / "idx"
    idx = add_corpus(out, tiny_model, corpus, create=True, show_progress=False)
    assert len(idx) == 8 and idx.ids[-1] == 8      # a row without an id gets its row number
    hits = search_inputs(idx, tiny_model, [TEXTS[2]], k=3)[0]
    assert hits[0].id == "doc2" and hits[0].score == pytest.approx(1.0, abs=1e-4)
    assert hits[0].metadata == {"text": TEXTS[2], "source": "unit"}
    # the indexed vectors are the offline encode of the same inputs
    img = EmbedInput(images=[str(corpus.parent / "im0.png")])
    assert search_inputs(idx, tiny_model, [img], k=1)[0][0].id == "img0"
    assert not (out / WORK_DIR).exists()
    # reload, then add
    more = write_corpus(tmp_path / "more.jsonl", [{"id": "new", "text": "a brand new row"}])
    idx = add_corpus(out, tiny_model, more, show_progress=False)
    back = EmbeddingIndex.load(out)
    assert len(back) == 9
    assert search_inputs(back, tiny_model, ["a brand new row"], k=1)[0][0].id == "new"
    with pytest.raises(InputError, match="already in the index") as exc:
        add_corpus(out, tiny_model, more, show_progress=False)
    assert exc.value.row == 1 and exc.value.field == "id"


def test_mismatched_mode_and_model_refused(tmp_path, corpus, tiny_model, tiny_qwen25_dir):
    from umer1 import UMEModel
    idx = add_corpus(tmp_path / "idx", tiny_model, corpus, create=True, show_progress=False)
    with pytest.raises(InputError, match="not aligned"):
        search_inputs(idx, tiny_model, ["query"], mode="gen")
    other = UMEModel.from_pretrained(tiny_qwen25_dir)
    with pytest.raises(InputError, match="not comparable"):
        search_inputs(idx, other, ["query"])
    # the same weights loaded from another path are the same model
    same = UMEModel.from_pretrained(str(tiny_model.name) + "/")
    assert model_identity(same)["fingerprint"] == model_identity(tiny_model)["fingerprint"]


def test_bad_corpus_row_leaves_nothing(tmp_path, tiny_model):
    bad = write_corpus(tmp_path / "bad.jsonl", [{"text": "fine"}, {"image": "missing.png"}])
    with pytest.raises(InputError) as exc:
        add_corpus(tmp_path / "idx", tiny_model, bad, create=True, show_progress=False)
    assert (exc.value.row, exc.value.field) == (2, "image")
    assert not (tmp_path / "idx" / "index.json").exists()


def test_killed_build_resumes(tmp_path, tiny_model, monkeypatch):
    rows = [{"id": i, "text": f"row number {i}"} for i in range(10)]
    src = write_corpus(tmp_path / "c.jsonl", rows)
    real, calls = tiny_model.encode, []

    def dies_on_third_chunk(items, **kw):
        calls.append(len(items))
        if len(calls) == 3:
            raise KeyboardInterrupt      # the job is killed mid-way
        return real(items, **kw)
    monkeypatch.setattr(tiny_model, "encode", dies_on_third_chunk)
    with pytest.raises(KeyboardInterrupt):
        add_corpus(tmp_path / "idx", tiny_model, src, create=True, chunk_size=3, show_progress=False)
    assert not (tmp_path / "idx" / "index.json").exists()
    calls.clear()
    monkeypatch.setattr(tiny_model, "encode", lambda items, **kw: calls.append(len(items)) or
                        real(items, **kw))
    idx = add_corpus(tmp_path / "idx", tiny_model, src, create=True, chunk_size=3, show_progress=False)
    assert calls == [3, 1]               # the two finished chunks were not embedded again
    want = real([r["text"] for r in rows])
    got = np.stack([idx.index.reconstruct(i) for i in range(10)])
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_nan_embedding_names_the_corpus_row(tmp_path, tiny_model, monkeypatch):
    src = write_corpus(tmp_path / "c.jsonl", [{"text": "fine"}, {"text": "broken"}])
    real = tiny_model.encode

    def nan_for_broken(items, **kw):
        out = real(items, **kw)
        out[[i for i, it in enumerate(items) if it.text == "broken"]] = np.nan
        return out
    monkeypatch.setattr(tiny_model, "encode", nan_for_broken)
    with pytest.raises(InputError, match="not finite") as exc:
        add_corpus(tmp_path / "idx", tiny_model, src, create=True, show_progress=False)
    assert exc.value.row == 2 and not (tmp_path / "idx" / "index.json").exists()
