"""`umer1 index build` under accelerate: 2 CPU processes (gloo) give the 1-process index, and a
build whose process was killed resumes its unfinished parts only."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from umer1.cli import main
from umer1.index import EmbeddingIndex
from umer1.index.build import EXIT_HOOK, WORK_DIR
from umer1.store.cache import HOST
from tests.index.util import write_corpus

ROOT = Path(__file__).resolve().parents[2]
ROWS = [{"id": f"r{i}", "text": f"corpus row number {i} about topic {i % 3}"} for i in range(11)]


def launch(args, env_extra=None):
    # `--multi_gpu` selects the torchrun launcher; without CUDA the processes use gloo.
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes",
           "2", "--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no",
           "--main_process_port", "0", "-m", "umer1.cli", *args]
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1",
               TOKENIZERS_PARALLELISM="false", **(env_extra or {}))
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300, cwd=ROOT)


def dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def vectors(out):
    idx = EmbeddingIndex.load(out)
    return idx.ids, np.stack([idx.index.reconstruct(i) for i in range(len(idx))])


def build_args(model_dir, corpus, out, *extra):
    return ["index", "build", "--model", str(model_dir), "--input", str(corpus), "--out", str(out),
            "--chunk-size", "2", "--no-progress", *extra]


def test_two_processes_match_one_and_a_killed_build_resumes(tmp_path, tiny_model_dir):
    corpus = write_corpus(tmp_path / "c.jsonl", ROWS)
    assert main(build_args(tiny_model_dir, corpus, tmp_path / "one")) == 0
    ids1, v1 = vectors(tmp_path / "one")

    proc = launch(build_args(tiny_model_dir, corpus, tmp_path / "two"))
    assert proc.returncode == 0, proc.stderr[-3000:]
    ids2, v2 = vectors(tmp_path / "two")
    assert ids2 == ids1 == [r["id"] for r in ROWS]
    np.testing.assert_allclose(v2, v1, atol=1e-5)
    report = json.loads((tmp_path / "two" / "build_report.json").read_text())
    assert report["processes"] == 2 and set(report["embedded_by_rank"]) == {"0", "1"}
    assert sum(report["embedded_by_rank"].values()) == len(ROWS)

    # Process 1 dies right after writing its first part (of parts 1, 3, 5); torchrun stops the other.
    out, cache = tmp_path / "killed", tmp_path / "cache"
    proc = launch(build_args(tiny_model_dir, corpus, out, "--cache-dir", str(cache)),
                  {EXIT_HOOK: "1:1"})
    assert proc.returncode != 0 and not (out / "index.json").exists()
    parts = sorted(p.name for p in (out / WORK_DIR / "parts").glob("part-*.npz"))
    assert "part-000001.npz" in parts and "part-000003.npz" not in parts
    # A writer killed mid-part leaves a temporary shard; the rerun removes it (dead process).
    stale = next(cache.iterdir()) / f".shard-000009-{HOST}-{dead_pid()}-abc.npz.0a1b.tmp"
    stale.write_bytes(b"partial")
    # The rerun, in one process, embeds only the unfinished parts.
    assert main(build_args(tiny_model_dir, corpus, out, "--cache-dir", str(cache))) == 0
    ids3, v3 = vectors(out)
    assert ids3 == ids1
    np.testing.assert_allclose(v3, v1, atol=1e-5)
    keys = [k for f in cache.glob("*/shard-*.npz") for k in np.load(f)["keys"].tolist()]
    assert len(keys) == len(set(keys)) == len(ROWS)          # nothing embedded twice
    assert not stale.exists()
