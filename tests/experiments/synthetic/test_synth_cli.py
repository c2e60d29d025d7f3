"""`umer1 synth` as a user runs it."""
import json

from umer1.cli import main


def test_synth_writes_a_dataset_and_prints_chance(tmp_path, capsys):
    out = tmp_path / "data"
    assert main(["synth", str(out), "--seed", "2", "--train", "8", "--rl", "4", "--eval", "2",
                 "--tasks", "cls,vqa"]) == 0
    printed = capsys.readouterr().out
    assert "shapes_cls: 2 queries, chance Hit@1 0.125" in printed
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"] == {"sft": 8, "rl": 4, "eval": {"shapes_cls": 2, "shapes_vqa": 2}}


def test_synth_bad_arguments_are_one_line_errors(tmp_path, capsys):
    assert main(["synth", str(tmp_path / "a"), "--tasks", "t2i,maps"]) == 2
    assert "unknown task(s) maps" in capsys.readouterr().err
    assert main(["synth", str(tmp_path / "b"), "--candidates", "1"]) == 2
    assert "field 'candidates': must be at least 2" in capsys.readouterr().err
    (tmp_path / "c").mkdir()
    (tmp_path / "c" / "x").write_text("")
    assert main(["synth", str(tmp_path / "c")]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c"]
