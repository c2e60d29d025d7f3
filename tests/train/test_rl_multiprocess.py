"""Two CPU processes (gloo): each holds one pair, so every negative comes from the other one."""
import json
import os
import subprocess
import sys

import pytest
import torch

from tests.train.rl_helpers import prime_tiny_model, write_rl_data


@pytest.fixture(scope="module")
def primed_dir(tiny_model_dir, tmp_path_factory):
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return prime_tiny_model(tiny_model_dir, tmp_path_factory.mktemp("rl_mp_primed"), steps=60)
    finally:
        torch.set_num_threads(n)


def test_two_processes_gather_negatives(primed_dir, tmp_path):
    data = write_rl_data(tmp_path, rows=4)
    out = tmp_path / "run"
    G = 4
    # `--multi_gpu` selects accelerate's torchrun launcher; `train.cpu` makes it gloo on CPUs.
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
           "--main_process_port", "0", "-m", "umer1.cli", "train", "rl",
           "--config", "configs/rl/tiny.yaml", "--set", f"model.base={primed_dir}",
           "--set", f"data.train_file={data}", "--set", f"train.output_dir={out}",
           "--set", "data.pairs_per_device=1", "--set", "train.steps=1",
           "--set", f"rollout.num_generations={G}", "--set", "rollout.max_completion_length=24",
           "--set", "train.plot=false"]
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false")
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300,
                          cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "1 pairs x 2 processes" in proc.stderr
    (row,) = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    assert row["gathered_pairs"] == 2
    # One local pair per process: the negatives of a rollout are the other process's rollouts
    # that have an embedding (rollouts without one use none and count 0 in the mean).
    assert 0 < row["num_negatives"] <= G
    if row["missing_gen_emb"] == 0:
        assert row["num_negatives"] == pytest.approx(G)
    assert row["missing_gen_emb"] < 2 * 2 * G
    assert (out / "final" / "model.safetensors").is_file()
