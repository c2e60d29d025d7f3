"""The runner on a real tiny model: de-duplication, resume after interruption, modes, pass@k."""
import json

import numpy as np
import pytest

from umer1.utils.errors import InputError
from umer1.engine.params import EmbedSpec, GenParams, Mode
from umer1.eval import EvalOptions, TaskSpec, evaluate, evaluate_task, load_task, mode_pairs, rank
from umer1.eval import resolve_tasks
from umer1.store import Embedder

DISC = EmbedSpec(Mode.DISC)


def gen(max_new_tokens: int) -> EmbedSpec:
    return EmbedSpec(Mode.GEN, GenParams(max_new_tokens=max_new_tokens))


class Counting:
    """Wraps the real model's encode / generate to count the inputs it is asked to embed."""

    def __init__(self, model, monkeypatch, fail_after: int | None = None):
        self.inputs = {"encode": 0, "generate": 0}
        self.calls = 0
        self.fail_after = fail_after
        for name in ("encode", "generate"):
            real = getattr(model, name)

            def wrapped(items, *a, _real=real, _name=name, **kw):
                if self.fail_after is not None and self.calls >= self.fail_after:
                    raise KeyboardInterrupt("killed")
                self.calls += 1
                self.inputs[_name] += len(items)
                return _real(items, *a, **kw)
            monkeypatch.setattr(model, name, wrapped)


def image_task(data_root):
    specs, root = resolve_tasks(data_root / "tasks.yaml")
    spec = next(s for s in specs if s.name == "TinyCls")
    return spec, load_task(spec, root)


def test_shared_candidates_are_embedded_once(tiny_model, data_root, tmp_path, monkeypatch):
    spec, data = image_task(data_root)
    count = Counting(tiny_model, monkeypatch)
    emb = Embedder(tiny_model, tmp_path / "cache", batch_size=8, show_progress=False)
    r = evaluate_task(emb, spec, data, DISC, DISC)
    assert count.inputs["encode"] == 4 + 5               # Q + C, not Q x C = 20
    assert r.num_pred == 4 and 0 <= r.metrics["hit@1"] <= 1 and r.chance == pytest.approx(0.2)
    # the same inputs again: everything comes from the cache
    evaluate_task(Embedder(tiny_model, tmp_path / "cache", show_progress=False), spec, data,
                  DISC, DISC)
    assert count.inputs["encode"] == 9


def test_greedy_gen_caches_the_disc_embeddings_of_its_prefill(tiny_model, data_root, tmp_path,
                                                               monkeypatch):
    spec, data = image_task(data_root)
    count = Counting(tiny_model, monkeypatch)
    emb = Embedder(tiny_model, tmp_path / "cache", batch_size=8, show_progress=False)
    evaluate_task(emb, spec, data, gen(3), gen(3))
    free = evaluate_task(emb, spec, data, DISC, DISC)
    assert count.inputs["encode"] == 0, "disc came from the gen prefill, no second forward"
    fresh = evaluate_task(Embedder(tiny_model, tmp_path / "fresh", show_progress=False), spec, data,
                          DISC, DISC)
    assert count.inputs["encode"] == 9 and fresh.metrics == pytest.approx(free.metrics)


def test_same_content_different_paths_share_one_embedding(tiny_model, data_root, tmp_path, monkeypatch):
    import shutil
    shutil.copy(data_root / "images/c0.png", data_root / "images/copy_of_c0.png")
    emb = Embedder(tiny_model, tmp_path / "cache", show_progress=False)
    count = Counting(tiny_model, monkeypatch)
    from umer1.engine.inputs import EmbedInput
    items = [EmbedInput("x", images=[str(data_root / "images/c0.png")]),
             EmbedInput("x", images=[str(data_root / "images/copy_of_c0.png")]),
             EmbedInput("y", images=[str(data_root / "images/c0.png")])]
    e, _ = emb.embed(items, DISC)
    assert count.inputs["encode"] == 2 and np.array_equal(e[0], e[1]) and not np.array_equal(e[0], e[2])


@pytest.mark.faults
def test_resume_after_interruption(tiny_model, data_root, tmp_path, monkeypatch):
    spec, data = image_task(data_root)
    reference = evaluate_task(Embedder(tiny_model, tmp_path / "ref", show_progress=False),
                              spec, data, DISC, DISC)
    count = Counting(tiny_model, monkeypatch, fail_after=2)
    emb = Embedder(tiny_model, tmp_path / "cache", flush_every=2, show_progress=False)
    with pytest.raises(KeyboardInterrupt):
        evaluate_task(emb, spec, data, DISC, DISC)
    assert count.inputs["encode"] == 4                    # two chunks of 2 queries, then killed
    assert len(list((tmp_path / "cache").glob("*/shard-*.npz"))) == 2
    assert not list((tmp_path / "cache").glob("*/.*tmp"))  # no partial shard
    count.fail_after = None
    emb = Embedder(tiny_model, tmp_path / "cache", flush_every=2, show_progress=False)
    r = evaluate_task(emb, spec, data, DISC, DISC)
    assert count.inputs["encode"] == 4 + 5                # only the 5 candidates were left
    assert r.metrics == reference.metrics and r.predictions == reference.predictions


def test_cache_is_keyed_by_mode_and_settings(tiny_model, data_root, tmp_path, monkeypatch):
    spec, data = image_task(data_root)
    count = Counting(tiny_model, monkeypatch)
    emb = Embedder(tiny_model, tmp_path / "cache", show_progress=False)
    emb.embed(data.queries, DISC)
    emb.embed(data.queries, gen(3))
    emb.embed(data.queries, gen(4))
    assert count.inputs == {"encode": 4, "generate": 8}
    monkeypatch.setattr(tiny_model.settings, "max_pixels", tiny_model.settings.max_pixels // 2)
    Embedder(tiny_model, tmp_path / "cache", show_progress=False).embed(data.queries, DISC)
    assert count.inputs["encode"] == 8


def test_global_ranking_ties_and_top_k():
    q = np.array([[1.0, 0.0]], np.float32)
    c = np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 0.0], [0.6, 0.8]], np.float32)
    preds, scores = rank(q, c, None, topk=3)
    assert preds == [[1, 2, 3]] and scores[0][:2] == [1.0, 1.0]
    preds, _ = rank(q, c, [[2, 0, 1]], topk=3)
    assert preds == [[2, 1, 0]]                   # tie: position in the pool decides


def test_cross_mode_is_refused_unless_aligned():
    with pytest.raises(InputError, match="not trained to be aligned"):
        mode_pairs("gen", "disc", spaces_aligned=False)
    assert mode_pairs("gen", "disc", spaces_aligned=True) == [("gen", "disc")]
    assert mode_pairs("both", None, False) == [("gen", "gen"), ("disc", "disc")]


def test_missing_media_file_is_an_input_error(tiny_model, data_root, tmp_path):
    spec, data = image_task(data_root)
    (data_root / "images/c2.png").unlink()
    with pytest.raises(InputError, match="c2.png") as e:
        evaluate_task(Embedder(tiny_model, tmp_path / "c", show_progress=False), spec, data,
                      DISC, DISC)
    assert e.value.file.endswith("test.jsonl")
    assert not list((tmp_path / "c").glob("*/shard-*"))


def test_suite_both_modes_oracle_and_passk(tiny_model, data_root, tmp_path, monkeypatch):
    specs, root = resolve_tasks(data_root / "tasks.yaml")
    specs = [s for s in specs if s.name in ("TinyCls", "TinyDoc")]
    count = Counting(tiny_model, monkeypatch)
    out = tmp_path / "out"
    opts = EvalOptions(query_mode="both", num_samples=3, temperature=1.0, max_new_tokens=3,
                       show_progress=False)
    summary = evaluate(tiny_model, specs, root, out, opts)
    # gen greedy: (4 + 5) + (2 + 6), whose prefills also give every disc embedding (no encode);
    # pass@k: only the 6 queries, sampled once each
    assert count.inputs == {"encode": 0, "generate": 17 + 6}
    for mode in ("disc", "gen"):
        rec = json.loads((out / mode / "TinyDoc_score.json").read_text())
        assert rec["query_mode"] == rec["candidate_mode"] == mode and rec["num_pred"] == 2
        assert rec["main_metric"] == "ndcg_linear@5" and "ndcg_exponential@10" in rec
        assert (out / mode / "summary.md").is_file() and (out / mode / "scores.png").stat().st_size > 0
    assert "gen_emb_found_rate" in json.loads((out / "gen" / "TinyCls_score.json").read_text())
    oracle = json.loads((out / "oracle.json").read_text())
    for name in ("TinyCls", "TinyDoc"):
        disc = json.loads((out / "disc" / f"{name}_score.json").read_text())["main_score"]
        gen = json.loads((out / "gen" / f"{name}_score.json").read_text())["main_score"]
        assert max(disc, gen) <= oracle["tasks"][name] + 1e-9
    curve = json.loads((out / "passk" / "TinyCls_passk.json").read_text())
    assert curve["k"] == [1, 2, 3] and curve["unbiased"][-1] == pytest.approx(curve["first_k"][-1])
    assert all(a <= b + 1e-12 for a, b in zip(curve["unbiased"], curve["unbiased"][1:]))
    assert (out / "passk" / "passk.png").stat().st_size > 0
    assert set(summary["modes"]) == {"disc", "gen"}


def test_chance_level_is_exact_for_the_main_metrics(data_root):
    from umer1.eval.ranking import chance_level
    spec, data = image_task(data_root)
    assert chance_level(spec, data) == pytest.approx(1 / 5)
    specs, root = resolve_tasks(data_root / "tasks.yaml")
    doc = next(s for s in specs if s.name == "TinyDoc")
    d = load_task(doc, root)
    import math
    pos = sum(1 / math.log2(r + 2) for r in range(5)) / 6
    q1 = 3 * pos / (2 + 1 / math.log2(3))          # relevances 2 and 1
    q2 = 1 * pos / 1
    assert chance_level(doc, d) == pytest.approx((q1 + q2) / 2)
    # simulated metrics (mrr) come close to the exact expectation 1/5 * H(5)/... on 5 candidates
    mrr = TaskSpec(**{**spec.__dict__, "metric": "mrr@10"})
    assert chance_level(mrr, data, draws=400) == pytest.approx(sum(1 / r for r in range(1, 6)) / 5, abs=0.05)


def test_every_backbone_evaluates_both_modes(backbone_dir, data_root, tmp_path):
    from umer1 import UMEModel
    specs, root = resolve_tasks(data_root / "tasks.yaml")
    specs = [s for s in specs if s.name in ("TinyCls", "TinyVid")]
    out = tmp_path / "out"
    opts = EvalOptions(query_mode="both", max_new_tokens=3, show_progress=False)
    model = UMEModel.from_pretrained(backbone_dir)
    summary = evaluate(model, specs, root, out, opts)
    assert set(summary["modes"]) == {"disc", "gen"}
    for mode in ("disc", "gen"):
        for name in ("TinyCls", "TinyVid"):
            rec = json.loads((out / mode / f"{name}_score.json").read_text())
            assert rec["query_mode"] == mode and 0.0 <= rec["main_score"] <= 1.0
    meta = json.loads((out / "gen" / "leaderboard.json").read_text())["metadata"]
    assert meta["prompt_format"] == model.settings.prompt_format
    assert meta["model_backbone"] == model.backbone.model_type
