"""SFT readers: released and own formats, validation messages, grouped batch order."""
from __future__ import annotations

import json

import pytest
from PIL import Image

from umer1.data.sft import group_batches, read_sft
from umer1.utils.errors import InputError
from umer1.engine.prompts import GENERATION_PROMPT

HUMAN = f"TEXT\n<disc_emb>\n{GENERATION_PROMPT}"
ANSWER = "<think>r</think><answer><|begin_of_box|>s<|end_of_box|>\n<gen_emb>"


def side(value=HUMAN, answer=ANSWER, **kw):
    return {**kw, "conversations": [{"from": "human", "value": value}, {"from": "gpt", "value": answer}]}


def write(tmp_path, rows):
    Image.new("RGB", (30, 30), (1, 2, 3)).save(tmp_path / "a.png")
    p = tmp_path / "sft.jsonl"
    p.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return p


def test_released_format_both_placements_and_markup(tmp_path):
    rows = [{"dataset_name": "d", "qry": side("<image>\n" + HUMAN, image="a.png"),
             "pos": side(HUMAN.replace("\n<disc_emb>", "<image>\n<disc_emb>"), image=["a.png"])},
            {"dataset_name": "d", "qry": side(), "pos": side(answer="<think>x</think><answer>y</answer>\n<gen_emb>")}]
    pairs = read_sft(write(tmp_path, rows))
    assert len(pairs) == 2 and pairs[0].query.images == [str(tmp_path / "a.png")]
    assert "<|begin_of_box|>" in pairs[0].query.answer and pairs[1].row == 2
    assert pairs[1].query.images == [] and pairs[0].query.released


def test_own_format(tmp_path):
    row = {"query": {"text": "find a cat", "answer": "<think>c</think><answer>cat\n<gen_emb>"},
           "positive": {"image": "a.png", "answer": "<think>c</think><answer>a cat\n<gen_emb>"}}
    (p,) = read_sft(write(tmp_path, [row]))
    assert p.dataset == "default" and not p.query.released and p.target.images


@pytest.mark.parametrize("row,field", [
    ({"qry": side(), "pos": side(answer="<think>x</think><answer>y")}, "pos.conversations[1].value"),
    ({"qry": side(value="no disc token"), "pos": side()}, "qry.conversations[0].value"),
    ({"qry": side("<image>\n" + HUMAN), "pos": side()}, "qry.image"),
    ({"qry": side(image="missing.png"), "pos": side()}, "qry.image"),
    ({"qry": side(image="a.txt"), "pos": side()}, "qry.image"),
    ({"qry": {"conversations": [{"from": "gpt", "value": "x"}]}, "pos": side()}, "qry.conversations"),
    ({"qry": side(), "pos": side(), "dataset_name": 3}, "dataset_name"),
    ({"query": {"text": "", "answer": ANSWER}, "positive": {"text": "t", "answer": ANSWER}}, "query.text"),
    ({"something": 1}, "qry"),
])
def test_bad_rows_name_file_row_field(tmp_path, row, field):
    good = {"qry": side(), "pos": side()}
    path = write(tmp_path, [good, row])
    with pytest.raises(InputError) as e:
        read_sft(path)
    assert (e.value.file, e.value.row, e.value.field) == (str(path), 2, field)
    assert str(path) in e.value.one_line() and "row 2" in e.value.one_line()


def test_malformed_json_and_empty(tmp_path):
    with pytest.raises(InputError) as e:
        read_sft(write(tmp_path, ['{"qry": ']))
    assert e.value.row == 1
    (tmp_path / "e.jsonl").write_text("\n")
    with pytest.raises(InputError):
        read_sft(tmp_path / "e.jsonl")


def test_group_batches_file_order_and_shuffle():
    names = ["a"] * 5 + ["b"] * 4 + ["a"] * 2
    batches, left = group_batches(names, 4, group_size=2)
    assert batches == [[0, 1, 2, 3], [5, 6, 7, 8]] and left == 3   # row 4 and rows 9-10 left out
    for b in batches:
        assert all(names[i] == names[b[0]] for i in b[:2])
    s1, _ = group_batches(names, 2, order="shuffle", seed=1)
    assert s1 == group_batches(names, 2, order="shuffle", seed=1)[0]
    assert s1 != group_batches(names, 2, order="shuffle", seed=1, epoch=1)[0] or len(s1) < 3
    assert all(len({names[i] for i in b}) == 1 for b in s1)
    with pytest.raises(InputError):
        group_batches(names, 3, group_size=2)
