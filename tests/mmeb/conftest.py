"""A miniature data root with the file layout and column names of every official MMEB-V2 source family,
written by the tests: MMEB image parquet, ViDoRe BEIR configs, VisRAG (split train), the OOD page sets
old and fixed, and video classification / retrieval / QA / moment-retrieval annotations with frame folders."""
from __future__ import annotations

import io
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

COLORS = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (0, 255, 255), (255, 0, 255)]


def parquet(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path)


def png(color, size=32, fmt="PNG") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buf, format=fmt)
    return buf.getvalue()


def frames(folder: Path, n: int = 12, color=(0, 0, 0)) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for k in range(1, n + 1):
        Image.new("RGB", (28, 28), COLORS[k % len(COLORS)] if color is None else color).save(folder / f"frame_{k}.jpg")


def _image_tasks(root: Path) -> None:
    hf = root / "hf" / "ziyjiang" / "MMEB_Test_Instruct"
    imgs = root / "image-tasks" / "images"
    imgs.mkdir(parents=True)
    for i, c in enumerate(COLORS):
        Image.new("RGB", (32, 32), c).save(imgs / f"{i}.jpg")
    labels = ["red", "green", "blue"]
    parquet(hf / "Breakfast-like" / "x.parquet", [])   # an unrelated config folder
    parquet(hf / "ImageNet-1K" / "test-00000-of-00001.parquet", [
        {"qry_inst": "<|image_1|> Represent the given image for classification", "qry_text": "",
         "qry_img_path": f"images/{i}.jpg", "tgt_inst": "Represent the class label: ",
         "tgt_text": [labels[i]] + [l for l in labels if l != labels[i]], "tgt_img_path": ["", "", ""]}
        for i in range(3)])
    parquet(hf / "OK-VQA" / "test-00000-of-00001.parquet", [
        {"qry_inst": "<|image_1|>\nRepresent the given image with the following question: ",
         "qry_text": "What colour is it? \nAnswer briefly", "qry_img_path": "images/0.jpg",
         "tgt_inst": "", "tgt_text": ["red ", "green"], "tgt_img_path": ["", ""]}])
    parquet(hf / "VisDial" / "test-00000-of-00001.parquet", [
        {"qry_inst": "Represent the given dialogue about an image, which is used for image retrieval:",
         "qry_text": "Q:is it red A:yes", "qry_img_path": "", "tgt_inst": "<|image_1|>\nRepresent the given image.",
         "tgt_text": ["", ""], "tgt_img_path": ["images/0.jpg", "images/1.jpg"]}])
    parquet(hf / "WebQA" / "test-00000-of-00001.parquet", [
        {"qry_inst": "<|image_1|> Find a Wikipedia image-passage pair that answers this question:",
         "qry_text": "which colour?", "qry_img_path": "",
         "tgt_inst": "<|image_1|>\nRepresent the given image with related text information: ",
         "tgt_text": ["a red square", "a green square"], "tgt_img_path": ["images/0.jpg", "images/1.jpg"]},
        {"qry_inst": "Find a Wikipedia image-passage pair that answers this question:", "qry_text": "green?",
         "qry_img_path": "", "tgt_inst": "<|image_1|>\nRepresent the given image with related text information: ",
         "tgt_text": ["another caption", "a red square"], "tgt_img_path": ["images/1.jpg", "images/0.jpg"]}])
    parquet(hf / "RefCOCO-Matching" / "test-00000-of-00001.parquet", [
        {"qry_inst": "<|image_1|> Select the portion of the image that follows the language expressions: ",
         "qry_text": '"the red one"', "qry_img_path": "images/2.jpg",
         "tgt_inst": "<|image_1|> Select the portion of the image that follows the language expressions:",
         "tgt_text": ['"left"', '"right"'], "tgt_img_path": ["images/3.jpg", "images/3.jpg"]}])


def _beir(folder: Path, split: str, queries, corpus, qrels, card: bool = False) -> None:
    for config, rows in (("queries", queries), ("corpus", corpus), ("qrels", qrels)):
        parquet(folder / config / f"{split}-00000-of-00001.parquet", rows)
    if card:   # a dataset card naming the data files, as hub repos often do
        (folder / "README.md").write_text(
            "---\nconfigs:\n" + "".join(f"- config_name: {c}\n  data_files:\n  - split: {split}\n    path: {c}/{split}-*\n"
                                         for c in ("queries", "corpus", "qrels")) + "---\n# card\n")


def _visdoc(root: Path) -> None:
    hf = root / "hf"
    pages = [{"corpus-id": i, "image": {"bytes": png(COLORS[i], fmt="JPEG" if i % 2 else "PNG"), "path": None},
              "text": "corpus text is never used"} for i in range(4)]
    _beir(hf / "vidore" / "docvqa_test_subsampled_beir", "test",
          [{"query-id": 1, "query": "red page?"}, {"query-id": 2, "query": "blue page?"},
           {"query-id": 3, "query": "only judged zero"}],
          pages, [{"query-id": 1, "corpus-id": 0, "score": 1}, {"query-id": 2, "corpus-id": 2, "score": 1},
                  {"query-id": 2, "corpus-id": 3, "score": 0}, {"query-id": 3, "corpus-id": 1, "score": 0}])
    long = "a" * 70 + ".png"
    _beir(hf / "openbmb" / "VisRAG-Ret-Test-ArxivQA", "train",
          [{"query-id": "q1", "query": "which chart?"}],
          [{"corpus-id": long, "image": {"bytes": png(COLORS[1]), "path": long}},
           {"corpus-id": "b.jpg", "image": {"bytes": png(COLORS[2]), "path": "b.jpg"}}],
          [{"query-id": "q1", "corpus-id": "b.jpg", "score": 1}], card=True)
    for repo, rel in (("VLM2Vec/ViDoSeek-page", [3, 2]), ("VLM2Vec/ViDoSeek-page-fixed", [2, 3])):
        _beir(hf / repo, "test", [{"query-id": "a", "query": "the reference page", "corpus_range": [0, 1]}],
              [{"corpus-id": i, "image": {"bytes": png(COLORS[i]), "path": None}} for i in range(2)],
              [{"query-id": "a", "corpus-id": i, "score": s} for i, s in enumerate(rel)])


def _video(root: Path) -> None:
    hf, fr = root / "hf", root / "video-tasks" / "frames"
    parquet(hf / "VLM2Vec" / "Breakfast" / "data" / "test-00000-of-00001.parquet",
            [{"video_id": "P03_cereals", "pos_text": "cereal"}, {"video_id": "P04_tea", "pos_text": "tea"}])
    for v in ("P03_cereals", "P04_tea"):
        frames(fr / "video_cls" / "Breakfast" / v, color=None)
    parquet(hf / "VLM2Vec" / "SmthSmthV2" / "data" / "test-00000-of-00001.parquet",
            [{"video_id": 7 + i, "pos_text": "Closing something",
              "neg_text": ["Opening something", "Closing something", "Folding something"]} for i in range(3)])
    for i in range(3):
        frames(fr / "video_cls" / "SSv2" / str(7 + i), color=None)
    parquet(hf / "VLM2Vec" / "MSR-VTT" / "test_1k" / "test-00000-of-00001.parquet",
            [{"video_id": f"video{i}", "video": f"video{i}.mp4", "caption": f"a person does thing {i}"}
             for i in range(3)])
    for i in range(3):
        frames(fr / "video_ret" / "MSR-VTT" / f"video{i}", color=COLORS[i])
    parquet(hf / "VLM2Vec" / "Video-MME" / "videomme" / "test-00000-of-00001.parquet",
            [{"question": "What is shown?", "videoID": "abc", "options": ["A. a cat", "B. a dog", "C. a car", "D. x"],
              "answer": "B", "question_id": "001-1", "domain": "d", "sub_category": "s"}])
    (hf / "VLM2Vec" / "Video-MME" / "README.md").write_text(
        "---\nconfigs:\n- config_name: default\n  data_files:\n  - split: test\n    path: videomme/test-*\n---\n")
    frames(fr / "video_qa" / "Video-MME" / "abc", n=5, color=None)
    parquet(hf / "VLM2Vec" / "QVHighlight" / "data" / "test-00000-of-00001.parquet",
            [{"query": "a man cooks", "video_path": "videos/vid_1.mp4"}])
    for clip in ("query", "positive_0", "negative_1", "negative_2"):
        frames(fr / "video_mret" / "QVHighlight" / "vid_1" / clip, n=3, color=None)


def build_sources(root: Path) -> Path:
    _image_tasks(root)
    _visdoc(root)
    _video(root)
    return root


@pytest.fixture
def source_root(tmp_path) -> Path:
    return build_sources(tmp_path / "mmeb")
