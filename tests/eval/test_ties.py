"""Ties rank against the gold: a model that cannot tell candidates apart scores at or below
chance, the tie count is reported, and NaN embeddings are an error naming the input."""
import json

import numpy as np
import pytest

from umer1.engine.params import EmbedSpec
from umer1.eval import EvalOptions, evaluate, evaluate_task, load_task, rank, rank_order, resolve_tasks
from umer1.store import Embedder
from umer1.utils.errors import InputError


def constant_encoder(model, monkeypatch, value=None):
    """encode returns one and the same unit vector for every input (or `value` per input)."""
    d = model.hidden_size

    def encode(items, *a, **kw):
        out = np.zeros((len(items), d), np.float32)
        out[:, 0] = 1.0
        if value is not None:
            for i, it in enumerate(items):
                out[i] = value(it, out[i])
        return out
    monkeypatch.setattr(model, "encode", encode)


def test_tied_candidates_rank_below_the_gold():
    assert rank_order([0.5, 0.5, 0.5], {0: 1.0}).tolist() == [1, 2, 0]
    assert rank_order([0.5, 0.5, 0.9], {0: 2.0, 1: 1.0}).tolist() == [2, 1, 0]   # lower relevance first
    q = np.array([[1.0, 0.0]], np.float32)
    c = np.ones((4, 2), np.float32) / np.sqrt(2)
    preds, _ = rank(q, c, None, [{0: 1.0}], topk=4)
    assert preds == [[1, 2, 3, 0]]
    preds, _ = rank(q, c, [[0, 2, 3]], [{0: 1.0}], topk=3)
    assert preds == [[2, 3, 0]]


@pytest.mark.parametrize("layout_task", ["TinyCls", "TinyDoc", "TinyVid", "TinyPairs"])
def test_constant_embeddings_score_at_or_below_chance(tiny_model, data_root, tmp_path, monkeypatch,
                                                      layout_task):
    constant_encoder(tiny_model, monkeypatch)
    specs, root = resolve_tasks(data_root / "tasks.yaml")
    specs = [s for s in specs if s.name == layout_task]
    evaluate(tiny_model, specs, root, tmp_path / "out", EvalOptions(show_progress=False))
    rec = json.loads((tmp_path / "out" / "disc" / f"{layout_task}_score.json").read_text())
    assert rec["main_score"] <= rec["chance_level"] + 1e-9, rec
    assert rec["at_chance"] and rec["tied_top"] == rec["num_pred"]
    table = (tmp_path / "out" / "disc" / "summary.md").read_text()
    assert "| tied top |" in table and f"| {rec['num_pred']} |" in table.splitlines()[-3]


def test_a_working_ranking_reports_no_ties(tiny_model, data_root, tmp_path):
    specs, root = resolve_tasks(data_root / "tasks.yaml")
    spec = next(s for s in specs if s.name == "TinyCls")
    r = evaluate_task(Embedder(tiny_model, tmp_path / "c", show_progress=False), spec,
                      load_task(spec, root), EmbedSpec(), EmbedSpec())
    assert r.tied_top == 0


def test_nan_embedding_is_an_error_naming_the_input(tiny_model, data_root, tmp_path, monkeypatch):
    specs, root = resolve_tasks(data_root / "tasks.yaml")
    spec = next(s for s in specs if s.name == "TinyCls")
    data = load_task(spec, root)
    real = tiny_model.encode
    constant_encoder(tiny_model, monkeypatch,
                     value=lambda it, v: np.full_like(v, np.nan) if it.text.endswith("blue") else v)
    with pytest.raises(InputError, match=r"task TinyCls: the disc embedding of candidate '2' is not "
                                         r"finite") as exc:
        evaluate_task(Embedder(tiny_model, tmp_path / "c", show_progress=False), spec, data,
                      EmbedSpec(), EmbedSpec())
    assert exc.value.file.endswith("test.jsonl")
    # nothing non-finite was cached: the repaired model embeds the rest and scores normally
    monkeypatch.setattr(tiny_model, "encode", real)
    r = evaluate_task(Embedder(tiny_model, tmp_path / "c", show_progress=False), spec, data,
                      EmbedSpec(), EmbedSpec())
    assert r.num_pred == 4
