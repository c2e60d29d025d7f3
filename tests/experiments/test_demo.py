"""`umer1 demo`: a short run completes and writes its report; its YAML is the built-in default."""
import json
from pathlib import Path

from umer1.cli import main
from umer1.utils.config import load_config, to_dict
from umer1.experiments.demo import DemoConfig

ROOT = Path(__file__).resolve().parents[2]
# A small run: two tasks, few queries and candidates, short generations.
SHORT = ["--set", "data.tasks=[cls, vqa]", "--set", "data.eval=2", "--set", "data.min_eval=2",
         "--set", "data.candidates=3", "--set", "data.min_train=16", "--set", "data.min_rl=4",
         "--set", "sft.batch_size=4", "--set", "sft.first_segment=2",
         "--set", "rl.pairs_per_step=2", "--set", "rl.num_generations=2",
         "--set", "rl.max_completion_length=12", "--set", "eval.max_new_tokens=12",
         "--set", "eval.num_samples=2", "--set", "threads=1"]


def test_configs_demo_yaml_is_the_default():
    assert to_dict(load_config(DemoConfig, ROOT / "configs" / "demo.yaml")) == to_dict(DemoConfig())


def test_short_demo_completes_and_writes_its_report(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--minutes", "0.2", "--seed", "1", *SHORT]) == 0
    printed = capsys.readouterr().out
    assert "| task | chance | SFT disc | SFT gen | RL disc | RL gen | RL oracle | RL gen pass@2 |" in printed
    assert "shapes_cls" in printed and "shapes_vqa" in printed
    assert "RL " in printed and "chance" in printed
    report = (out / "report.md").read_text()
    for plot in ("losses", "reward", "hit1", "passk"):
        assert (out / "plots" / f"{plot}.png").stat().st_size > 1000
        assert f"plots/{plot}.png" in report
    summary = json.loads((out / "demo_summary.json").read_text())
    assert summary["sft"]["steps"] >= 2 and summary["rl"]["steps"] >= 1
    assert (Path(summary["rl"]["model"]) / "umer1.json").is_file()
    # every score in the table comes from the evaluation files
    score = json.loads((out / "eval" / "rl" / "gen" / "shapes_cls_score.json").read_text())
    assert f"| shapes_cls | {100 * score['chance_level']:.1f} |" in report
    assert f"{100 * score['main_score']:.1f}" in report

    # a rerun with the same settings skips every finished stage
    assert main(["demo", "--out", str(out), "--minutes", "0.2", "--seed", "1", *SHORT]) == 0
    again = json.loads((out / "demo_summary.json").read_text())
    assert again["timings"]["sft"] < 1 and again["timings"]["eval"] < 1


def test_bad_demo_settings_are_one_line_errors(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "d"), "--minutes", "0"]) == 2
    assert "--minutes" in capsys.readouterr().err
    assert main(["demo", "--out", str(tmp_path / "d"), "--set", "data.tasks=[maps]"]) == 2
    assert "unknown task" in capsys.readouterr().err
