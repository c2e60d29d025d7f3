"""Task readers of every layout, the 78-task registry, and `umer1 data check`."""
import io
import json
from collections import Counter
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from umer1.cli import main
from umer1.utils.errors import InputError
from umer1.eval import TaskSpec, load_registry, load_task, resolve_tasks

REPO = Path(__file__).resolve().parents[2]


def spec_of(root, name):
    specs, _ = resolve_tasks(root / "tasks.yaml")
    return next(s for s in specs if s.name == name)


def test_mmeb_image_rows_share_candidates(data_root):
    d = load_task(spec_of(data_root, "TinyCls"), data_root)
    assert len(d.queries) == 4 and len(d.candidates) == 5          # 4 x 5 rows, 5 distinct units
    assert d.queries[0].text == "Represent the given image for classification"   # marker stripped
    assert d.queries[0].images == [str(data_root / "images" / "c0.png")]
    # a text-only candidate is the raw tgt_text, its tgt_inst unused (image_cls_dataset.py:26-27)
    assert d.candidates[d.pools[0][0]].text == "red"
    assert all(lab == {pool[0]: 1.0} for lab, pool in zip(d.labels, d.pools))
    assert d.revision == "abc123" and d.num_data == 4
    assert len(load_task(spec_of(data_root, "TinyCls"), data_root, max_queries=2).queries) == 2


def test_mmeb_image_from_parquet(tmp_path, data_root):
    rows = [json.loads(l) for l in (data_root / "image-tasks/TinyCls/test.jsonl").read_text().splitlines()]
    folder = tmp_path / "pq"
    folder.mkdir()
    pq.write_table(pa.Table.from_pylist(rows), folder / "test-00000-of-00001.parquet")
    spec = TaskSpec("P", "image", "classification", "mmeb_image", str(folder), media=str(data_root / "images"))
    d = load_task(spec, tmp_path)
    assert len(d.queries) == 4 and len(d.candidates) == 5


def test_bad_image_row_names_file_row_and_field(tmp_path, data_root):
    f = data_root / "image-tasks/TinyCls/test.jsonl"
    lines = f.read_text().splitlines()
    bad = json.loads(lines[1])
    bad["tgt_img_path"] = ["a.png"]              # 5 texts but 1 image
    f.write_text("\n".join([lines[0], json.dumps(bad)] + lines[2:]) + "\n")
    with pytest.raises(InputError) as e:
        load_task(spec_of(data_root, "TinyCls"), data_root)
    assert (e.value.file, e.value.row, e.value.field) == (str(f), 2, "tgt_img_path")


def test_beir_graded_qrels_and_unjudged_queries(data_root):
    d = load_task(spec_of(data_root, "TinyDoc"), data_root)
    assert d.pools is None and d.graded
    assert d.query_ids == ["q1", "q2"] and d.num_data == 2          # q3 has no judgement
    assert d.queries[0].text == "Find a document image that matches the given query: a red page"
    ids = d.candidate_ids
    assert {ids[j]: r for j, r in d.labels[0].items()} == {"d0": 2.0, "d3": 1.0}


def test_beir_parquet_with_image_bytes(tmp_path):
    base = tmp_path / "doc"
    base.mkdir()
    buf = io.BytesIO()
    Image.new("RGB", (30, 30), (1, 2, 3)).save(buf, format="PNG")
    pq.write_table(pa.Table.from_pylist([{"corpus-id": "p1", "image": {"bytes": buf.getvalue(), "path": "p1.png"}},
                                         {"corpus-id": "p2", "image": {"bytes": buf.getvalue(), "path": "p2.png"}}]),
                   base / "corpus.parquet")
    pq.write_table(pa.Table.from_pylist([{"query-id": "a", "query": "what"}]), base / "queries.parquet")
    pq.write_table(pa.Table.from_pylist([{"query-id": "a", "corpus-id": "p2", "score": 1}]), base / "qrels.parquet")
    d = load_task(TaskSpec("D", "visdoc", "vidore_v1", "beir", str(base), ranking="global"), tmp_path)
    assert d.candidate_ids == ["p1", "p2"] and isinstance(d.candidates[0].images[0], Image.Image)
    assert d.labels == [{1: 1.0}]


def test_beir_unknown_corpus_id(data_root):
    qrels = data_root / "visdoc-tasks/TinyDoc/qrels/test.tsv"
    qrels.write_text(qrels.read_text() + "q2\tnope\t1\n")
    with pytest.raises(InputError) as e:
        load_task(spec_of(data_root, "TinyDoc"), data_root)
    assert e.value.row == 5 and e.value.field == "corpus-id"


def test_video_frames_and_local_ranking(data_root):
    d = load_task(spec_of(data_root, "TinyVid"), data_root)
    assert d.pools is None and len(d.queries[0].video) == 10       # 8 are sampled when embedded
    q = data_root / "video-tasks/TinyVid/queries.jsonl"
    rows = [json.loads(l) for l in q.read_text().splitlines()]
    for r in rows:
        r["candidates"] = ["cap0", "cap1", "cap2"]
    q.write_text("".join(json.dumps(r) + "\n" for r in rows))
    d = load_task(spec_of(data_root, "TinyVid"), data_root)
    assert d.pools == [[0, 1, 2]] * 3
    rows[1]["video"] = "missing-folder"
    q.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(InputError) as e:
        load_task(spec_of(data_root, "TinyVid"), data_root)
    assert e.value.row == 2 and e.value.field == "video"


def test_pairs_format(data_root):
    d = load_task(spec_of(data_root, "TinyPairs"), data_root)
    assert len(d.queries) == 3 and len(d.candidates) == 4 and d.pools is None and d.graded
    assert list(d.labels[2].values()) == [2.0, 1.0]


def test_directory_of_jsonl_tasks(data_root):
    specs, root = resolve_tasks(data_root / "mine")
    assert [s.name for s in specs] == ["pairs"] and specs[0].layout == "pairs"
    assert len(load_task(specs[0], root).queries) == 3


def test_registry_errors(tmp_path):
    bad = tmp_path / "t.yaml"
    bad.write_text("tasks:\n  - {name: A, modality: audio, meta_task: x, layout: beir, data: d}\n")
    with pytest.raises(InputError) as e:
        load_registry(bad)
    assert e.value.row == 1 and e.value.field == "modality"


def test_mmeb_v2_registry_has_the_78_tasks():
    specs = load_registry(REPO / "configs/mmeb_v2/tasks.yaml")
    assert len(specs) == 78 and len({s.name for s in specs}) == 78
    assert Counter(s.modality for s in specs) == {"image": 36, "video": 18, "visdoc": 24}
    meta = Counter((s.modality, s.meta_task) for s in specs)
    assert meta == {("image", "classification"): 10, ("image", "vqa"): 10, ("image", "retrieval"): 12,
                    ("image", "grounding"): 4, ("video", "classification"): 5, ("video", "qa"): 5,
                    ("video", "retrieval"): 5, ("video", "moment_retrieval"): 3,
                    ("visdoc", "vidore_v1"): 10, ("visdoc", "vidore_v2"): 4, ("visdoc", "visrag"): 6,
                    ("visdoc", "ood"): 4}
    assert {s.metric for s in specs if s.modality != "visdoc"} == {"hit@1"}
    assert {s.metric for s in specs if s.modality == "visdoc"} == {"ndcg_linear@5"}
    assert {s.ranking for s in specs if s.meta_task in ("qa", "moment_retrieval")} == {"local"}


def test_data_check_command(data_root, tmp_path, capsys):
    assert main(["data", "check", "--tasks", str(data_root / "tasks.yaml"), "--deep"]) == 0
    assert "4/4 tasks present" in capsys.readouterr().out
    (data_root / "visdoc-tasks/TinyDoc/corpus.jsonl").unlink()
    (data_root / "images/c1.png").unlink()     # used by TinyCls and TinyPairs
    out = tmp_path / "check.json"
    assert main(["data", "check", "--tasks", str(data_root / "tasks.yaml"), "--deep", "--json", str(out)]) == 1
    text = capsys.readouterr().out
    assert "MISSING TinyDoc" in text and "corpus" in text
    assert "1/4 tasks present" in text and "1 media files" in text and "c1.png" in text
    report = json.loads(out.read_text())["tasks"]
    assert not report["TinyDoc"]["present"] and report["TinyVid"]["present"]
    assert not report["TinyPairs"]["present"]
    rc = main(["data", "check", "--tasks", str(REPO / "configs/mmeb_v2/tasks.yaml"),
               "--data-root", str(tmp_path / "nothing"), "--only", "ImageNet-1K", "MSR-VTT"])
    assert rc == 1 and "0/2 tasks present" in capsys.readouterr().out
