"""Cross-mode (gen <-> disc) alignment: the SFT terms, the saved flag, and the study."""
import json

import pytest

from umer1.experiments.alignment import StudyConfig, cross_mode_margin, make_base_model, run_study, train_variant
from umer1.cli import main
from umer1.engine.model import UMEModel
from umer1.experiments.synthetic import generate_dataset


@pytest.fixture(scope="module")
def study(tmp_path_factory):
    out = tmp_path_factory.mktemp("alignment")
    cfg = StudyConfig(train=32, eval=2, candidates=4, steps=2, batch_size=8,
                      max_new_tokens=4, cost_items=2)
    return out, run_study(out, cfg)


def test_study_writes_every_setup_and_cost(study):
    out, r = study
    report = (out / "report.md").read_text()
    for row in ("| gen / gen |", "| disc / disc |", "| gen / disc |"):
        assert row in report
    assert json.loads((out / "results.json").read_text())["models"].keys() == {"reference", "aligned"}
    for m in r["models"].values():
        assert set(m["scores"]) == {"gen", "disc", "gen-disc"}
        assert all(0 <= s["mean_hit@1"] <= 1 for s in m["scores"].values())
        assert m["cost"]["gen_tokens_per_item"] > 0 and m["cost"]["disc_tokens_per_item"] == 0


def test_only_the_cross_trained_model_is_saved_as_aligned(study):
    out, r = study
    assert r["models"]["reference"]["saved_spaces_aligned"] is False
    assert r["models"]["aligned"]["saved_spaces_aligned"] is True
    assert UMEModel.from_pretrained(out / "aligned" / "final").settings.spaces_aligned


def test_unaligned_model_refuses_cross_mode_evaluation(study, capsys):
    out, _ = study
    code = main(["eval", "--model", str(out / "reference" / "final"), "--tasks",
                 str(out / "data" / "eval" / "tasks.yaml"), "--query-mode", "gen",
                 "--candidate-mode", "disc", "--output", str(out / "refused")])
    err = capsys.readouterr().err
    assert code == 2 and "not trained to be aligned" in err and len(err.strip().splitlines()) == 1


def test_cross_mode_terms_align_gen_queries_with_disc_targets(tmp_path):
    """Loose bound: teacher-forced on its training pairs (no generation), a gen query is clearly
    closer to its own disc target than to the other targets only with the cross-mode terms."""
    data = generate_dataset(tmp_path / "data", seed=0, train=16, rl=0, eval=2, candidates=4,
                            tasks=("t2i", "i2t"))
    cfg = StudyConfig(steps=120, batch_size=8, lr=5e-3)
    base = make_base_model(tmp_path / "base", data.sft, cfg)
    margin = {w: cross_mode_margin(train_variant(tmp_path / f"w{w}", base, data.sft, w, cfg),
                                   data.sft, pairs=8)["gen_q-disc_t"] for w in (0.0, 1.0)}
    assert margin[1.0] > 0.15 and margin[1.0] > margin[0.0] + 0.1, margin
