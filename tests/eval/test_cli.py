"""`umer1 eval` end to end on a tiny checkpoint, one and two processes."""
import json
import os
import shutil
import subprocess
import sys

import pytest
from huggingface_hub import ModelCard

from umer1.cli import main


def run_eval(model_dir, data_root, out, *extra):
    return main(["eval", "--model", str(model_dir), "--tasks", str(data_root / "tasks.yaml"),
                 "--output", str(out), "--no-progress", *extra])


def test_eval_writes_every_output(tiny_model_dir, data_root, tmp_path, capsys):
    out = tmp_path / "out"
    assert run_eval(tiny_model_dir, data_root, out, "--mode", "disc", "--max-queries", "3") == 0
    assert "[disc] overall" in capsys.readouterr().out
    rec = json.loads((out / "disc" / "TinyCls_score.json").read_text())
    for key in ("hit@1", "ndcg_linear@5", "ndcg_exponential@10", "map@5", "mrr@10", "recall@1",
                "precision@5", "num_pred", "num_data", "mode", "query_mode", "candidate_mode",
                "model", "prompt_format", "data_revision", "chance_level", "at_chance"):
        assert key in rec, key
    assert rec["num_pred"] == 3 and rec["num_data"] == 4 and rec["data_revision"] == "abc123"
    assert rec["model"] == str(tiny_model_dir) and rec["mode"] == "disc"
    preds = [json.loads(l) for l in (out / "disc" / "TinyCls_pred.jsonl").read_text().splitlines()]
    assert len(preds) == 3 and len(preds[0]["prediction"]) == 5 and preds[0]["label"] == ["0"]
    board = json.loads((out / "disc" / "leaderboard.json").read_text())
    assert set(board["metrics"]) == {"image", "visdoc", "video"}
    assert board["metadata"]["embedding_dimension"] == 64
    assert "hit@1" in board["metrics"]["image"]["TinyCls"]
    summary = json.loads((out / "disc" / "summary.json").read_text())["aggregates"]
    mains = {n: r["main_score"] for n, r in json.loads((out / "disc" / "summary.json").read_text())["tasks"].items()}
    assert summary["overall"] == pytest.approx(sum(mains.values()) / 4)
    assert summary["modality"]["image"] == pytest.approx((mains["TinyCls"] + mains["TinyPairs"]) / 2)
    assert json.loads((out / "run_config.json").read_text())["options"]["max_queries"] == 3
    # the scores go into a copy of the model's card, as a hub's model-index
    model = tmp_path / "model"
    shutil.copytree(tiny_model_dir, model)
    assert main(["card", str(model), "--eval", str(out)]) == 0
    scores = {r.metric_name: r.metric_value for r in ModelCard.load(model / "README.md").data.eval_results}
    assert scores["disc overall"] == pytest.approx(100 * summary["overall"], abs=0.01)


def test_cross_mode_is_refused_with_a_reason(tiny_model_dir, data_root, tmp_path, capsys):
    rc = run_eval(tiny_model_dir, data_root, tmp_path / "o", "--query-mode", "gen", "--candidate-mode", "disc")
    assert rc == 2
    err = capsys.readouterr().err
    assert "spaces_aligned" in err and len(err.strip().splitlines()) == 1


def test_bad_row_fails_before_any_output(tiny_model_dir, data_root, tmp_path, capsys):
    (data_root / "mine" / "pairs.jsonl").write_text('{"query": "x", "positives": []}\n')
    assert run_eval(tiny_model_dir, data_root, tmp_path / "o") == 2
    assert "pairs.jsonl, row 1, field 'positives'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_two_processes_match_one(tiny_model_dir, data_root, tmp_path):
    """accelerate launch with 2 CPU processes: uneven shares padded, gathered, same scores."""
    common = ["--model", str(tiny_model_dir), "--tasks", str(data_root / "tasks.yaml"), "--only",
              "TinyCls", "TinyDoc", "--no-progress", "--flush-every", "3"]
    assert main(["eval", "--output", str(tmp_path / "one"), *common]) == 0
    env = dict(os.environ, OMP_NUM_THREADS="1")
    # `--multi_gpu` selects accelerate's torchrun launcher (`--cpu` alone starts ONE process);
    # without CUDA the evaluation joins the processes with gloo on the CPU.
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2",
           "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
           "--main_process_port", "0", "-m", "umer1.cli", "eval", "--output", str(tmp_path / "two"),
           *common]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert json.loads((tmp_path / "two" / "run_config.json").read_text())["processes"] == 2
    for task in ("TinyCls", "TinyDoc"):
        one = json.loads((tmp_path / "one" / "disc" / f"{task}_score.json").read_text())
        two = json.loads((tmp_path / "two" / "disc" / f"{task}_score.json").read_text())
        assert two["num_pred"] == one["num_pred"]
        for k in ("hit@1", "ndcg_linear@5", "mrr@10"):
            assert two[k] == pytest.approx(one[k]), (task, k)
    # the gathered cache holds each unique input once: 4 + 5 (TinyCls) + 2 + 6 (TinyDoc)
    import numpy as np
    keys = [k for f in (tmp_path / "two" / "cache").glob("*/shard-*.npz") for k in np.load(f)["keys"]]
    assert len(keys) == len(set(keys)) == 17


def test_each_task_is_read_once_per_run(tiny_model_dir, data_root, tmp_path, monkeypatch):
    from umer1.eval.readers import LAYOUTS, Layout
    reads = []
    for name, layout in list(LAYOUTS.items()):
        def counting(spec, *a, _read=layout.read, **kw):
            reads.append(spec.name)
            return _read(spec, *a, **kw)
        monkeypatch.setitem(LAYOUTS, name, Layout(counting, layout.missing))
    assert run_eval(tiny_model_dir, data_root, tmp_path / "o", "--mode", "disc") == 0
    assert sorted(reads) == ["TinyCls", "TinyDoc", "TinyPairs", "TinyVid"]
