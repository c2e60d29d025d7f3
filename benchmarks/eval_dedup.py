"""Evaluation: candidate de-duplication vs naive per-row embedding, on an MMEB-style image task.

Q queries each rank the same C class-label candidates (the layout of the MMEB-V2 image
classification tasks). The runner embeds Q + C unique inputs; the naive baseline embeds every
row's query and its C candidates, Q x (1 + C) inputs. Both rank and score the same way; the
figure is the time ratio (median over repeats, alternated in one run). A real model's cost is
dominated even more by embedding than this tiny one's, so the ratio there is at least as large.
"""
from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import paired_median_times, row  # noqa: E402

from umer1 import UMEModel  # noqa: E402
from umer1.engine.params import EmbedSpec  # noqa: E402
from umer1.eval import TaskSpec, evaluate_task, load_task, mean_metrics, query_metrics, rank_order  # noqa: E402
from umer1.store import Embedder  # noqa: E402
from umer1.engine.tiny import make_tiny_model  # noqa: E402


def _task(root: Path, Q: int, C: int) -> TaskSpec:
    labels = [f"class label number {j}" for j in range(C)]
    rows = []
    for i in range(Q):
        Image.new("RGB", (56, 56), (17 * i % 256, 90, 200 - 7 * i % 200)).save(root / f"q{i}.png")
        pos = i % C
        rows.append({"qry_inst": "Represent the given image for classification", "qry_text": "",
                     "qry_img_path": f"q{i}.png", "tgt_inst": "",
                     "tgt_text": [labels[pos]] + [l for j, l in enumerate(labels) if j != pos],
                     "tgt_img_path": [""] * C})
    (root / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return TaskSpec("Bench", "image", "classification", "mmeb_image", str(root / "test.jsonl"),
                    media=str(root))


def _naive(model: UMEModel, data, batch_size: int) -> float:
    """Per row: embed the query and each of its candidates, no sharing, then score."""
    per = []
    for i, pool in enumerate(data.pools):
        q = model.encode([data.queries[i]], mode="disc", batch_size=batch_size)
        c = model.encode([data.candidates[j] for j in pool], mode="disc", batch_size=batch_size)
        gold = {p: data.labels[i][j] for p, j in enumerate(pool) if j in data.labels[i]}
        order = rank_order(c @ q[0], gold)     # ties rank against the gold, as the runner's
        per.append(query_metrics([pool[j] for j in order], data.labels[i]))
    return mean_metrics(per)["hit@1"]


def run(quick: bool = False) -> dict:
    torch.set_num_threads(1)
    Q, C, repeats = (8, 10, 3) if quick else (16, 20, 5)
    tmp = Path(tempfile.mkdtemp(prefix="eval_dedup_"))
    model = UMEModel.from_pretrained(make_tiny_model(tmp / "model"))
    (tmp / "data").mkdir()
    spec = _task(tmp / "data", Q, C)
    data = load_task(spec, tmp)
    batch_size = 8
    counter = iter(range(10 ** 6))
    scores = {}

    def dedup():   # a fresh cache each time: this measures embedding, not cache reads
        emb = Embedder(model, tmp / f"cache{next(counter)}", batch_size=batch_size, show_progress=False)
        scores["dedup"] = evaluate_task(emb, spec, data, EmbedSpec(), EmbedSpec()).metrics["hit@1"]

    def naive():
        scores["naive"] = _naive(model, data, batch_size)

    t_dedup, t_naive = paired_median_times(dedup, naive, repeats)
    return {"rows": [
        row("eval time, Q queries sharing C candidates", t_dedup, "s", baseline=t_naive,
            baseline_name="naive per-row embedding", higher_is_better=False,
            note=f"Q={Q}, C={C}: {Q + C} vs {Q * (1 + C)} inputs embedded, disc mode, tiny model"),
    ], "queries": Q, "candidates": C, "repeats": repeats,
        "inputs_embedded": {"dedup": Q + C, "naive": Q * (1 + C)},
        "hit@1": scores, "same_score": bool(np.isclose(scores["dedup"], scores["naive"]))}


if __name__ == "__main__":
    quick = "--quick" in sys.argv
    res = run(quick=quick)
    out = Path(__file__).resolve().parent / "results" / "eval_dedup.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(dict(res, quick=quick), indent=2) + "\n")
    print(json.dumps(res, indent=2))
