"""Small evaluation tasks of every layout, written to disk inside the tests."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image

COLORS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255), (255, 0, 255),
          (128, 128, 128), (0, 0, 0)]


def _jsonl(path: Path, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))


def build_data_root(root: Path) -> Path:
    """image (mmeb_image, JSONL), visdoc (beir), video (retrieval with frame folders), pairs."""
    img_dir = root / "images"
    img_dir.mkdir(parents=True)
    for i, c in enumerate(COLORS):
        Image.new("RGB", (32, 32), c).save(img_dir / f"c{i}.png")
    # image task: 4 queries sharing the same 5 text candidates (positive first)
    labels = ["red", "green", "blue", "yellow", "cyan"]
    rows = []
    for i in range(4):
        cands = [labels[i]] + [l for l in labels if l != labels[i]]
        rows.append({"qry_inst": "<|image_1|> Represent the given image for classification",
                     "qry_text": "", "qry_img_path": f"c{i}.png",
                     "tgt_inst": "Represent the class label:", "tgt_text": cands,
                     "tgt_img_path": [""] * 5})
    _jsonl(root / "image-tasks" / "TinyCls" / "test.jsonl", rows)
    (root / "image-tasks" / "TinyCls" / "REVISION").write_text("abc123\n")
    # visdoc task (BEIR): pages are images, graded qrels
    vd = root / "visdoc-tasks" / "TinyDoc"
    _jsonl(vd / "corpus.jsonl", [{"corpus-id": f"d{i}", "image": f"../../images/c{i}.png"} for i in range(6)])
    _jsonl(vd / "queries.jsonl", [{"query-id": "q1", "query": "a red page"},
                                  {"query-id": "q2", "query": "a blue page"},
                                  {"query-id": "q3", "query": "an unjudged query"}])
    (vd / "qrels").mkdir()
    (vd / "qrels" / "test.tsv").write_text("query-id\tcorpus-id\tscore\nq1\td0\t2\nq1\td3\t1\nq2\td2\t1\n")
    # video task: frame folders, global ranking of captions
    vt = root / "video-tasks" / "TinyVid"
    for v in range(3):
        f = root / "frames" / f"v{v}"
        f.mkdir(parents=True)
        for k in range(10):
            Image.new("RGB", (28, 28), COLORS[(v + k) % len(COLORS)]).save(f / f"{k:03d}.png")
    _jsonl(vt / "queries.jsonl", [{"id": f"v{v}", "video": f"v{v}", "positives": [f"cap{v}"]}
                                  for v in range(3)])
    _jsonl(vt / "corpus.jsonl", [{"id": f"cap{v}", "text": f"a clip number {v}"} for v in range(3)])
    # pairs task (a user's own data)
    _jsonl(root / "mine" / "pairs.jsonl", [
        {"query": "something red", "positives": [{"image": "../images/c0.png"}]},
        {"query": {"text": "something green"}, "positives": [{"image": "../images/c1.png"}]},
        {"query": "blue", "positives": [{"image": "../images/c2.png", "relevance": 2},
                                        {"text": "blue text"}]}])
    registry = {"tasks": [
        {"name": "TinyCls", "modality": "image", "meta_task": "classification", "layout": "mmeb_image",
         "metric": "hit@1", "ranking": "local", "data": "image-tasks/TinyCls", "media": "images"},
        {"name": "TinyDoc", "modality": "visdoc", "meta_task": "vidore_v1", "layout": "beir",
         "metric": "ndcg_linear@5", "ranking": "global", "data": "visdoc-tasks/TinyDoc",
         "query_instruction": "Find a document image that matches the given query:"},
        {"name": "TinyVid", "modality": "video", "meta_task": "retrieval", "layout": "retrieval",
         "metric": "hit@1", "ranking": "global", "data": "video-tasks/TinyVid", "media": "frames"},
        {"name": "TinyPairs", "modality": "image", "meta_task": "retrieval", "layout": "pairs",
         "metric": "hit@1", "ranking": "global", "data": "mine/pairs.jsonl"},
    ]}
    import yaml
    (root / "tasks.yaml").write_text(yaml.safe_dump(registry, sort_keys=False))
    return root


@pytest.fixture
def data_root(tmp_path) -> Path:
    return build_data_root(tmp_path / "data")
