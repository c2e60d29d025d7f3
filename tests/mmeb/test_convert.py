"""One converter test per source family: texts byte for byte as the official loaders + UME-R1's collator
build them, candidate names, ranking, qrels, page files."""
import json
from pathlib import Path

import pytest
from PIL import Image

from umer1.mmeb import PrepareOptions, prepare
from umer1.utils.errors import InputError


def rows(root: Path, task: str, kind: str, instruction_set: str = "ume-r1") -> list[dict]:
    path = root / "prepared" / instruction_set / task / f"{kind}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()]


def run(root, *names, instruction_set="ume-r1", ood=None):
    result = prepare(PrepareOptions(root=root, instruction_set=instruction_set, ood_split=ood, only=list(names)))
    assert not result.missing, result.missing
    return result


def test_image_classification_and_vqa(source_root):
    run(source_root, "ImageNet-1K", "OK-VQA")
    q = rows(source_root, "ImageNet-1K", "queries")
    # marker removed, instruction + empty qry_text, stripped; candidates = raw tgt_text, no tgt_inst, no image
    assert q[1] == {"id": "1", "text": "Represent the given image for classification",
                    "image": "image-tasks/images/1.jpg", "positives": ["green"],
                    "candidates": ["green", "red", "blue"]}
    assert rows(source_root, "ImageNet-1K", "corpus") == [{"id": t, "text": t} for t in ("red", "green", "blue")]
    vqa = rows(source_root, "OK-VQA", "queries")[0]
    # "\n" + inst.strip(); " \n" -> "\n" over the whole string; outer whitespace stripped
    assert vqa["text"] == "Represent the given image with the following question: What colour is it?\nAnswer briefly"
    # the candidate name keeps the raw text (it is the label), the embedded text is stripped
    assert vqa["positives"] == ["red "] and rows(source_root, "OK-VQA", "corpus")[0] == {"id": "red ", "text": "red"}


def test_image_t2i_and_grounding(source_root):
    run(source_root, "VisDial", "WebQA", "RefCOCO-Matching")
    assert rows(source_root, "VisDial", "queries")[0]["text"] == (
        "Represent the given dialogue about an image, which is used for image retrieval: Q:is it red A:yes")
    # no caption: tgt_inst alone for every candidate, with the image
    assert rows(source_root, "VisDial", "corpus")[1] == {"id": "images/1.jpg", "text": "Represent the given image.",
                                                         "image": "image-tasks/images/1.jpg"}
    web = rows(source_root, "WebQA", "corpus")
    # caption present: tgt_inst + " " + caption (the double space of the data survives); the name is the image
    # path and its first occurrence's content is kept, as the harness's name-keyed embedding dict does
    assert web[0] == {"id": "images/0.jpg", "image": "image-tasks/images/0.jpg",
                      "text": "Represent the given image with related text information:  a red square"}
    assert web[1]["text"].endswith("a green square")
    assert rows(source_root, "WebQA", "queries")[0]["text"] == (
        "Find a Wikipedia image-passage pair that answers this question: which colour?")
    ref = rows(source_root, "RefCOCO-Matching", "queries")[0]
    assert ref["text"] == 'Select the portion of the image that follows the language expressions: "the red one"'
    assert ref["candidates"] == ["images/3.jpg:left", "images/3.jpg:right"]   # path + ":" + caption.strip('"')
    assert rows(source_root, "RefCOCO-Matching", "corpus")[1]["text"] == (
        'Select the portion of the image that follows the language expressions: "right"')


def test_vidore_instruction_sets_and_qrels(source_root):
    run(source_root, "ViDoRe_docvqa")
    run(source_root, "ViDoRe_docvqa", instruction_set="vlm2vec-current")
    q = rows(source_root, "ViDoRe_docvqa", "queries")
    # query 3 has only a score-0 judgement: dropped with it; query 2 keeps page 2 only
    assert q == [{"id": "1", "text": "red page?", "positives": {"0": 1.0}},
                 {"id": "2", "text": "blue page?", "positives": {"2": 1.0}}]
    assert rows(source_root, "ViDoRe_docvqa", "corpus")[0] == {"id": "0", "image": "visdoc-tasks/ViDoRe_docvqa/0.png"}
    cur = rows(source_root, "ViDoRe_docvqa", "queries", "vlm2vec-current")
    assert cur[0]["text"] == "Find a document image that matches the given query: red page?"
    assert rows(source_root, "ViDoRe_docvqa", "corpus", "vlm2vec-current")[3] == {
        "id": "3", "text": "Understand the content of the provided document image.",
        "image": "visdoc-tasks/ViDoRe_docvqa/3.png"}                       # corpus text never used
    for i in range(4):   # every page written as PNG (JPEG bytes re-encoded)
        with Image.open(source_root / f"visdoc-tasks/ViDoRe_docvqa/{i}.png") as im:
            assert im.format == "PNG"


def test_visrag_reads_split_train_and_names_pages_like_the_loader(source_root):
    run(source_root, "VisRAG_ArxivQA")
    corpus = rows(source_root, "VisRAG_ArxivQA", "corpus")
    assert corpus[0]["image"] == "visdoc-tasks/VisRAG_ArxivQA/" + "a" * 50 + "_4deea131.png"
    assert corpus[1]["image"] == "visdoc-tasks/VisRAG_ArxivQA/b_efaf98db.jpg"
    with Image.open(source_root / corpus[1]["image"]) as im:
        assert im.format == "JPEG"
    # VisRAG keeps its instructions in UME-R1's copy too
    assert rows(source_root, "VisRAG_ArxivQA", "queries")[0]["text"] == (
        "Find a document image that matches the given query: which chart?")


def test_ood_page_splits_are_separate_tasks_naming_their_split(source_root):
    old = run(source_root, "ViDoSeek-page")
    new = run(source_root, "ViDoSeek-page-fixed", ood="page-fixed")
    assert rows(source_root, "ViDoSeek-page", "queries")[0]["positives"] == {"0": 3.0, "1": 2.0}
    assert rows(source_root, "ViDoSeek-page-fixed", "queries")[0]["positives"] == {"0": 2.0, "1": 3.0}
    prov = json.loads((source_root / "prepared/ume-r1/ViDoSeek-page-fixed/PROVENANCE.json").read_text())
    assert prov["source"] == "VLM2Vec/ViDoSeek-page-fixed" and prov["ood_split"] == "page-fixed"
    assert "ViDoSeek-page-fixed" in new.registry.read_text() and "ViDoSeek-page-fixed" not in old.registry.read_text()
    assert (source_root / "prepared/ume-r1/ViDoSeek-page/REVISION").read_text().strip().endswith("; ood original")


def test_video_classification_global_pool_is_the_class_list(source_root):
    run(source_root, "Breakfast")
    q = rows(source_root, "Breakfast", "queries")
    # Breakfast's instruction has a trailing space in the code; the strip removes it; no candidates: global
    assert q[0] == {"id": "0", "text": "Recognize the breakfast type that the person is cooking in the video.",
                    "video": "video-tasks/frames/video_cls/Breakfast/P03_cereals", "positives": ["cereal"]}
    assert [c["id"] for c in rows(source_root, "Breakfast", "corpus")] == [
        "cereal", "tea", "pancake", "sandwich", "scrambledegg", "friedegg", "coffee", "milk", "juice", "salad"]


def test_smthsmthv2_ranks_each_rows_own_options_first_1000_rows(source_root, monkeypatch):
    from dataclasses import replace

    from umer1.mmeb import catalog
    monkeypatch.setitem(catalog.TASKS, "SmthSmthV2", replace(catalog.TASKS["SmthSmthV2"], max_rows=2))
    run(source_root, "SmthSmthV2")
    q = rows(source_root, "SmthSmthV2", "queries")
    assert len(q) == 2 and catalog.TASKS["SmthSmthV2"].max_rows == 2
    assert q[1]["candidates"] == ["Opening something", "Closing something", "Folding something"]
    assert q[1]["positives"] == ["Closing something"] and q[1]["video"].endswith("video_cls/SSv2/8")
    monkeypatch.undo()
    assert catalog.TASKS["SmthSmthV2"].max_rows == 1000 and catalog.TASKS["SmthSmthV2"].ranking == "local"


def test_video_retrieval_qa_and_moments(source_root):
    run(source_root, "MSR-VTT", "Video-MME", "QVHighlight")
    assert rows(source_root, "MSR-VTT", "queries")[2] == {
        "id": "2", "text": "Find a video that contains the following visual content: a person does thing 2",
        "positives": ["video2"]}
    assert rows(source_root, "MSR-VTT", "corpus")[0] == {
        "id": "video0", "text": "Understand the content of the provided video.",
        "video": "video-tasks/frames/video_ret/MSR-VTT/video0"}
    qa = rows(source_root, "Video-MME", "queries")[0]
    assert qa["text"] == ("Given a video and a question, select the most accurate answer from the provided "
                          "candidates. Return only the exact text of your chosen answer. Question:  What is shown?"
                          "\nA. a cat\nB. a dog\nC. a car\nD. x")        # two spaces after "Question:"
    assert qa["positives"] == ["B. a dog"]
    assert [c["text"] for c in rows(source_root, "Video-MME", "corpus")] == ["a cat", "a dog", "a car", "x"]
    mr = rows(source_root, "QVHighlight", "queries")[0]
    base = "video-tasks/frames/video_mret/QVHighlight/vid_1/"
    assert mr["video"] == base + "query" and mr["positives"] == [base + "positive_0"]
    assert sorted(mr["candidates"]) == [base + c for c in ("negative_1", "negative_2", "positive_0")]


def test_bad_source_row_names_file_row_and_field(source_root):
    import pyarrow as pa
    import pyarrow.parquet as pq
    path = source_root / "hf/VLM2Vec/MSR-VTT/test_1k/test-00000-of-00001.parquet"
    pq.write_table(pa.Table.from_pylist([{"video_id": "v", "video": "v.mp4"}]), path)
    with pytest.raises(InputError) as e:
        run(source_root, "MSR-VTT")
    assert e.value.file == str(path) and e.value.row == 1 and e.value.field == "caption"
