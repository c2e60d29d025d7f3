"""`umer1 demo`: a short run completes, writes its report, resumes, and is reproducible."""
import json
from pathlib import Path

import pytest

from umer1.cli import main
from umer1.experiments.demo import DemoConfig
from umer1.utils.config import load_config, to_dict

ROOT = Path(__file__).resolve().parents[2]
# A small run: few pairs, queries, steps and tokens.
SHORT = ["--set", "data.train=64", "--set", "data.rl=8", "--set", "data.eval=4", "--set", "data.candidates=4",
         "--set", "sft.steps=6", "--set", "sft.batch_size=8", "--set", "rl.steps=2",
         "--set", "rl.probe_steps=0", "--set", "rl.pairs_per_step=2", "--set", "rl.num_generations=2",
         "--set", "rl.max_completion_length=12", "--set", "eval.max_new_tokens=12",
         "--set", "eval.num_samples=2"]


def test_configs_demo_yaml_is_the_default():
    assert to_dict(load_config(DemoConfig, ROOT / "configs" / "demo.yaml")) == to_dict(DemoConfig())


@pytest.fixture(scope="module")
def short_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo") / "a"
    assert main(["demo", "--out", str(out), "--seed", "1", *SHORT]) == 0
    return out


def test_short_demo_writes_its_report_from_its_own_files(short_run, capsys):
    out = short_run
    report = (out / "report.md").read_text()
    head = "| task | kind | chance | SFT disc | SFT gen | RL disc | RL gen | RL oracle |"
    assert head in report
    for task in ("cls", "count", "match"):
        assert f"| {task} |" in report
    assert "Decomposition of gen - disc" in report and "## pass@k of the RL model" in report
    for plot in ("losses", "rl", "hit1", "passk"):
        assert (out / "plots" / f"{plot}.png").stat().st_size > 1000
        assert f"plots/{plot}.png" in report
    summary = json.loads((out / "demo_summary.json").read_text())
    assert summary["sft"]["steps"] == 6 and summary["rl"]["steps"] == 2
    assert (Path(summary["rl"]["model"]) / "umer1.json").is_file()
    # every score in the table comes from the per-query files
    rows = [json.loads(x) for x in (out / "eval" / "rl" / "shapes_match.jsonl").read_text().splitlines()]
    assert len(rows) == 4 and all(len(r["passk"]) == 2 for r in rows)
    gen = 100 * sum(r["gen"] for r in rows) / len(rows)
    line = next(x for x in report.splitlines() if x.startswith("| match |"))
    assert f"{gen:.1f}" in line


def test_rerun_skips_finished_stages_and_same_command_same_numbers(short_run, tmp_path):
    out = short_run
    before = (out / "report.md").read_text()
    assert main(["demo", "--out", str(out), "--seed", "1", *SHORT]) == 0
    again = json.loads((out / "demo_summary.json").read_text())
    assert again["timings"]["wall_s"]["sft"] < 1 and again["timings"]["wall_s"]["eval"] < 1
    # a fresh directory: every stage reruns and gives the same per-query outcomes
    other = tmp_path / "b"
    assert main(["demo", "--out", str(other), "--seed", "1", *SHORT]) == 0
    for stage in ("sft", "rl"):
        for task in ("cls", "count", "match"):
            a = [json.loads(x) for x in (out / "eval" / stage / f"shapes_{task}.jsonl").read_text().splitlines()]
            b = [json.loads(x) for x in (other / "eval" / stage / f"shapes_{task}.jsonl").read_text().splitlines()]
            assert [(r["disc"], r["gen"], r["gold"], r["text"]) for r in a] == \
                   [(r["disc"], r["gen"], r["gold"], r["text"]) for r in b]
    table = lambda text: [x for x in text.splitlines() if x.startswith("| ")]  # noqa: E731
    assert table((other / "report.md").read_text()) == table(before)


def test_several_seeds_report_means_with_spread(tmp_path, capsys):
    out = tmp_path / "seeds"
    assert main(["demo", "--out", str(out), "--seed", "3", "--seeds", "2", *SHORT, "--set", "rl.steps=0"]) == 0
    assert (out / "seed-3" / "report.md").is_file() and (out / "seed-4" / "report.md").is_file()
    report = (out / "report.md").read_text()
    assert "mean ± sd over seeds" in report and "Seed(s) 3, 4" in report
    assert " ± " in next(x for x in report.splitlines() if x.startswith("| count |"))
    assert "RL was not run" in capsys.readouterr().out


def test_rl_without_learning_signal_stops_with_a_message(tmp_path, capsys):
    # 1 SFT step: no rollout writes the format, every reward is 0, every group is flat.
    out = tmp_path / "flat"
    args = SHORT + ["--set", "sft.steps=1", "--set", "rl.probe_steps=1", "--set", "data.tasks=[count]"]
    assert main(["demo", "--out", str(out), *args]) == 0
    printed = capsys.readouterr().out
    assert "RL did not run: RL stopped after 1 steps" in printed and "no gradient" in printed
    assert "RL gen" not in (out / "report.md").read_text()


def test_bad_demo_settings_are_one_line_errors(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "d"), "--set", "sft.steps=0"]) == 2
    assert "sft.steps" in capsys.readouterr().err
    assert main(["demo", "--out", str(tmp_path / "d"), "--set", "data.tasks=[maps]"]) == 2
    assert "unknown task" in capsys.readouterr().err
    assert main(["demo", "--out", str(tmp_path / "d"), "--seeds", "0"]) == 2
    assert "--seeds" in capsys.readouterr().err
