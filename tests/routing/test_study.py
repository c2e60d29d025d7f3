"""`umer1 routing-study` end to end at a toy size: every output, a gate for the model it studied,
bad settings refused before any training."""
import json

import pytest

from umer1.cli import main
from umer1.engine.fingerprint import model_fingerprint
from umer1.routing import Gate

TOY = ["--set", "train=64", "--set", "steps=2", "--set", "eval=4", "--set", "max_new_tokens=4",
       "--set", "budgets=[2]", "--set", "bootstrap=20", "--set", "tasks=[cls,vqa]"]


def test_study_writes_report_curves_and_a_gate(tmp_path, capsys):
    out = tmp_path / "study"
    assert main(["routing-study", "--out", str(out), *TOY]) == 0
    report = capsys.readouterr().out
    assert "fraction reasoned" in report and "Reasoning budget" in report
    for name in ("report.md", "results.json", "gate.json", "curves_fraction.png", "curves_tokens.png"):
        assert (out / name).is_file(), name
    r = json.loads((out / "results.json").read_text())
    assert r["queries"] == 4 and r["calibration_queries"] == 4
    assert set(r["curves"]) == {"margin rule", "learned gate"}
    for c in r["curves"].values():
        assert c["metric"][0] == pytest.approx(r["always_disc"]["metric"])
        assert c["metric"][-1] == pytest.approx(r["always_gen"]["metric"])
        assert len(c["se_at_grid"]) == 11
    assert [b["max_new_tokens"] for b in r["budgets"]] == [2, 4]
    assert set(r["reach_gen"]) == {"margin rule", "learned gate", "oracle"}
    from umer1 import UMEModel
    Gate.load(out / "gate.json", model_fingerprint(UMEModel.from_pretrained(r["model"])))


@pytest.mark.parametrize("setting", ["eval=1", "budgets=[4]", "budgets=[0]", "model=/no/such/dir"])
def test_bad_settings_fail_first(tmp_path, capsys, setting):
    assert main(["routing-study", "--out", str(tmp_path / "s"), *TOY, "--set", setting]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not (tmp_path / "s").exists()
