"""The local `hf:DIR` teacher on a tiny random Qwen2-VL: random text, rejected and counted."""
from __future__ import annotations

import json

from tests.annotate.conftest import read_jsonl, write_pairs

from umer1.annotate.teachers import HFTeacher, TeacherInput
from umer1.cli import main


def test_hf_teacher_random_output_is_counted_not_lost(image_dir, tiny_model_dir):
    rows = [{"qry": {"text": "what animal is this?", "image": "images/cat.png"},
             "pos": {"text": "a cat"}},
            {"qry": {"text": "a clip of a moving ball", "video": "frames"},
             "pos": {"image": ["images/cat.png", "images/dog.jpg"]}}]
    inp = write_pairs(image_dir / "pairs.jsonl", rows)
    out = image_dir / "sft.jsonl"
    rc = main(["annotate", "--teacher", f"hf:{tiny_model_dir}", "--input", str(inp), "--output",
               str(out), "--tokenizer", "teacher", "--max-tokens", "12", "--video-frames", "3",
               "--no-progress"])
    assert rc == 0 and read_jsonl(out) == []
    s = json.loads((image_dir / "sft.summary.json").read_text())
    assert s["sides"] == {"ok": 0, "filtered": 4, "error": 0, "pending": 0}
    assert sum(s["filtered"].values()) == 4 and s["pairs_dropped"]["filtered"] == 2
    assert 0 < s["completion_tokens"] <= 4 * 12 and s["requests"] == 4
    rejects = read_jsonl(image_dir / "sft.rejects.jsonl")
    assert sorted((r["row"], r["side"]) for r in rejects) == [(1, "pos"), (1, "qry"), (2, "pos"), (2, "qry")]
    assert all(r["reason"] in ("format", "truncated") and isinstance(r["text"], str) for r in rejects)


def test_hf_teacher_is_deterministic_per_item(image_dir, tiny_model_dir):
    t = HFTeacher(str(tiny_model_dir), max_new_tokens=6, temperature=1.0, seed=3)
    inp = TeacherInput("describe it", [str(image_dir / "images" / "cat.png")])
    a, b = t.complete(inp, "k1"), t.complete(inp, "k1")
    assert a.text == b.text and a.completion_tokens <= 6 and a.prompt_tokens > 10
