"""Index builds: throughput with 1 and 2 CPU processes, and IVF-PQ size and recall vs flat.

Embedding: `umer1 index build` of a text corpus with a small random model, once as one process
and once under `accelerate launch` with 2 processes (gloo), alternated, medians over repeats;
wall time includes each run's start-up and model load, as a user sees it. On a 2-core machine
shared with other work the ratio is bounded by the free cores, not by the build.

FAISS: 100k unit vectors (d=64) from a seeded mixture of Gaussians; IVF-PQ at the documented
setting (nlist 256, PQ16 re-ranked from 8-bit codes, nprobe 16, k_factor 16) against the flat
index: bytes on disk and recall@10 against exact search for 200 held-out queries.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import row  # noqa: E402

from umer1.engine.tiny import make_tiny_model  # noqa: E402
from umer1.index import EmbeddingIndex  # noqa: E402
from umer1.index.report import exact_top_k  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def _build(model: Path, corpus: Path, out: Path, processes: int) -> float:
    args = ["-m", "umer1.cli", "index", "build", "--model", str(model), "--input", str(corpus),
            "--out", str(out), "--chunk-size", "16", "--no-progress"]
    if processes > 1:
        args = ["-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes",
                str(processes), "--num_machines", "1", "--mixed_precision", "no",
                "--dynamo_backend", "no", "--main_process_port", "0", *args]
    env = dict(os.environ, OMP_NUM_THREADS="1", HF_HUB_OFFLINE="1", TOKENIZERS_PARALLELISM="false",
               PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, *args], env=env, capture_output=True, text=True,
                          cwd=ROOT, timeout=900)
    if proc.returncode:
        raise RuntimeError(proc.stderr[-2000:])
    return time.perf_counter() - t


def _mixture(n: int, d: int, seed: int) -> np.ndarray:
    c = np.random.default_rng(0).standard_normal((100, d)).astype(np.float32)
    g = np.random.default_rng(seed)
    x = c[g.integers(0, 100, n)] + 0.5 * g.standard_normal((n, d)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _faiss_part(tmp: Path) -> list[dict]:
    info = {"name": "synthetic", "path": None, "fingerprint": "-", "dim": 64, "settings": {}}
    x, q = _mixture(100_000, 64, 1), _mixture(200, 64, 2)
    exact = exact_top_k(q, [(0, x)], 10)
    out = {}
    for kind, params in (("flat", {}), ("ivfpq", {"nlist": 256, "train_size": 20_000})):
        idx = EmbeddingIndex.create(info, "disc", kind=kind, **params)
        t = time.perf_counter()
        idx.add(x, list(range(len(x))))
        secs = time.perf_counter() - t
        idx.save(tmp / kind)
        hits = idx.search(q, 10)
        out[kind] = {"bytes": (tmp / kind / "vectors-00001.faiss").stat().st_size, "secs": secs,
                     "recall": float(np.mean([len(set(e.tolist()) & {h.id for h in g}) / 10
                                              for e, g in zip(exact, hits)]))}
    return [row("IVF-PQ index size, 100k x 64", out["ivfpq"]["bytes"] / 2**20, "MiB",
                out["flat"]["bytes"] / 2**20, "flat index", higher_is_better=False),
            row("IVF-PQ recall@10 vs exact, 100k x 64", out["ivfpq"]["recall"], "",
                note="nprobe 16, k_factor 16, re-ranked from 8-bit codes"),
            row("IVF-PQ train + add, 100k x 64", out["ivfpq"]["secs"], "s")]


def run(quick: bool = False) -> dict:
    rows_n, repeats = (96, 1) if quick else (256, 3)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        model = make_tiny_model(tmp / "model", hidden_size=256, num_layers=4, num_heads=4)
        corpus = tmp / "corpus.jsonl"
        corpus.write_text("".join(json.dumps({"id": i, "text": f"document {i}: " + " ".join(
            f"word{(i * 7 + j) % 101}" for j in range(40))}) + "\n" for i in range(rows_n)))
        one, two = [], []
        for r in range(repeats):    # alternated so load drifts hit both
            one.append(_build(model, corpus, tmp / f"one{r}", 1))
            two.append(_build(model, corpus, tmp / f"two{r}", 2))
        t1, t2 = statistics.median(one), statistics.median(two)
        a, b = EmbeddingIndex.load(tmp / "one0"), EmbeddingIndex.load(tmp / "two0")
        same = a.ids == b.ids and np.allclose(
            np.stack([a.index.reconstruct(i) for i in range(len(a))]),
            np.stack([b.index.reconstruct(i) for i in range(len(b))]), atol=1e-5)
        rows = [row(f"index build rows/s, 2 CPU processes ({rows_n} rows)", rows_n / t2, "rows/s",
                    rows_n / t1, "1 process"),
                *_faiss_part(tmp)]
    return {"rows": rows, "same_index_1_vs_2_processes": bool(same), "repeats": repeats}


if __name__ == "__main__":
    print(json.dumps(run(quick="--quick" in sys.argv), indent=2))
