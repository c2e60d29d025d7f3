"""SIGKILL a real `umer1` process at a deterministic point, run it again, and compare with an
uninterrupted run of the same command and seed.

The uninterrupted runs and the resumes run in this process (same code path as the console
command, one interpreter start less); only the run that gets killed is a subprocess. Annotation
is covered by tests/annotate/test_kill_resume.py (marked `faults` too).
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.eval.conftest import build_data_root
from tests.faults.conftest import REPO, cli, kill_when
from tests.train.conftest import write_sft_data
from tests.train.rl_helpers import prime_tiny_model, write_rl_data
from umer1.cli import main
from umer1.utils.plots import read_metrics

pytestmark = pytest.mark.faults


def sets(*pairs: str) -> list[str]:
    return [arg for kv in pairs for arg in ("--set", kv)]


def assert_same_run(full: Path, resumed: Path) -> None:
    """Every metrics row and every final weight within 1e-6 (timings aside)."""
    a, b = read_metrics(full / "metrics.jsonl"), read_metrics(resumed / "metrics.jsonl")
    assert [r["step"] for r in a] == [r["step"] for r in b]
    for ra, rb in zip(a, b):
        assert ra.keys() == rb.keys()
        for key in (k for k in ra if k != "elapsed_s" and not k.startswith("time_")):
            assert ra[key] == pytest.approx(rb[key], rel=1e-6, abs=1e-6), (key, ra, rb)
    wa = load_file(str(full / "final" / "model.safetensors"))
    wb = load_file(str(resumed / "final" / "model.safetensors"))
    assert wa.keys() == wb.keys()
    for k in wa:
        assert torch.allclose(wa[k], wb[k], rtol=0, atol=1e-6), k


def checkpoint_done(run: Path, step: int):
    return lambda: (run / "checkpoints" / f"step-{step:08d}" / "trainer_state.json").is_file()


def kill_and_resume(argv: list[str], run: Path, step: int) -> None:
    kill_when(cli(*argv), checkpoint_done(run, step))
    assert not (run / "final").exists() and not (run / "summary.json").exists()
    assert main([*argv, "--resume"]) == 0
    assert json.loads((run / "run.json").read_text())["resumed_from"].endswith(f"step-{step:08d}")


def test_sft_killed_after_a_checkpoint_resumes_to_the_same_run(tiny_model_dir, tmp_path, capsys):
    data = write_sft_data(tmp_path / "data", 16)
    common = ["train", "sft", "--config", str(REPO / "configs/sft/tiny.yaml"), *sets(
        f"model.base={tiny_model_dir}", f"data.train_file={data}", "train.steps=8",
        "train.save_every=2", "train.keep_last=5", "train.progress_bar=false", "train.plot=false")]
    full, killed = tmp_path / "full", tmp_path / "killed"
    assert main([*common, *sets(f"train.output_dir={full}")]) == 0
    kill_and_resume([*common, *sets(f"train.output_dir={killed}")], killed, 2)
    assert_same_run(full, killed)


@pytest.fixture(scope="module")
def primed_dir(tiny_model_dir, tmp_path_factory):
    torch.manual_seed(0)
    return prime_tiny_model(tiny_model_dir, tmp_path_factory.mktemp("faults_rl_primed"), steps=60)


def test_rl_killed_after_a_checkpoint_resumes_to_the_same_run(primed_dir, tmp_path, capsys):
    data = write_rl_data(tmp_path, rows=4)
    common = ["train", "rl", "--config", str(REPO / "configs/rl/tiny.yaml"), *sets(
        f"model.base={primed_dir}", f"data.train_file={data}", "rollout.num_generations=4",
        "rollout.max_completion_length=10", "data.pairs_per_device=2", "train.steps=4",
        "train.save_every=1", "train.keep_last=5", "optim.lr=1e-3", "train.progress_bar=false",
        "train.plot=false")]
    full, killed = tmp_path / "full", tmp_path / "killed"
    assert main([*common, *sets(f"train.output_dir={full}")]) == 0
    rows = read_metrics(full / "metrics.jsonl")
    # the reward has a spread, so the policy gradient is not zero and the weights move
    assert min(r["zero_spread_groups"] for r in rows) < 1
    base, trained = load_file(str(primed_dir / "model.safetensors")), load_file(
        str(full / "final" / "model.safetensors"))
    assert any(not torch.equal(base[k], trained[k]) for k in base)
    kill_and_resume([*common, *sets(f"train.output_dir={killed}")], killed, 1)
    assert_same_run(full, killed)


def test_eval_killed_after_a_cache_shard_gives_the_same_scores(tiny_model_dir, tmp_path, capsys):
    data_root = build_data_root(tmp_path / "data")

    def argv(out: Path) -> list[str]:
        return ["eval", "--model", str(tiny_model_dir), "--tasks", str(data_root / "tasks.yaml"),
                "--output", str(out), "--batch-size", "1", "--flush-every", "1", "--no-progress"]

    full, killed = tmp_path / "full", tmp_path / "killed"
    assert main(argv(full)) == 0
    kill_when(cli(*argv(killed)), lambda: any(killed.glob("cache/*/shard-*.npz")))
    shards = set(killed.glob("cache/*/shard-*.npz"))
    assert not (killed / "disc" / "summary.json").exists()
    assert main(argv(killed)) == 0          # the same command again
    assert shards <= set(killed.glob("cache/*/shard-*.npz"))   # what was done is kept, not redone
    names = sorted(p.name for p in (full / "disc").glob("*_score.json"))
    assert len(names) == 4 and names == sorted(p.name for p in (killed / "disc").glob("*_score.json"))
    for name in names:      # identical but for the wall time of each run
        a, b = (json.loads((run / "disc" / name).read_text()) for run in (full, killed))
        assert a.pop("seconds") >= 0 and b.pop("seconds") >= 0 and a == b, name
        pred = name.replace("_score.json", "_pred.jsonl")
        assert (full / "disc" / pred).read_text() == (killed / "disc" / pred).read_text(), pred
