"""Pair readers: the three layouts, stable ids, and errors that name file, row and field."""
from __future__ import annotations

import pytest
from tests.annotate.conftest import mmeb_rows, write_pairs

from umer1.annotate.pairs import read_annotation_pairs
from umer1.utils.errors import InputError


def test_layouts_parse_to_sides(image_dir):
    rows = [
        {"qry": "<|image_1|>\nRepresent the given image", "qry_image_path": "images/cat.png",
         "pos_text": "a cat", "pos_image_path": "", "neg_text": "a dog", "neg_image_path": ""},
        {"dataset_name": "MSVD", "qry_text": "find the clip", "qry_image": "", "qry_video": [],
         "pos_text": "", "pos_image": "", "pos_video": ["frames/000.png", "frames/001.png"]},
        {"id": 7, "qry": {"text": "two pets", "image": ["images/cat.png", "images/dog.jpg"]},
         "pos": {"video": "frames"}},
    ]
    a, b, c = read_annotation_pairs(write_pairs(image_dir / "mix.jsonl", rows))
    assert (a.query.text, a.query.images, a.target.text, a.target.images) == \
           ("Represent the given image", ["images/cat.png"], "a cat", [])
    assert a.dataset_name == "mix" and b.dataset_name == "MSVD"
    assert b.query.video is None and b.target.video == ["frames/000.png", "frames/001.png"]
    assert c.id == "7" and c.query.images == ["images/cat.png", "images/dog.jpg"]
    assert c.target.video == [f"frames/{i:03d}.png" for i in range(10)]


def test_ids_are_stable_when_rows_are_inserted(image_dir):
    rows = mmeb_rows(3)
    first = [p.id for p in read_annotation_pairs(write_pairs(image_dir / "a.jsonl", rows))]
    moved = read_annotation_pairs(write_pairs(image_dir / "a.jsonl", [rows[2], mmeb_rows(5)[4]] + rows[:2]))
    assert [p.id for p in moved if p.id in first] == [first[2], first[0], first[1]]
    dup = read_annotation_pairs(write_pairs(image_dir / "d.jsonl", [rows[0], rows[0]]))
    assert dup[1].id == dup[0].id + "#1"


@pytest.mark.parametrize("row,where", [
    ({"qry": "x", "qry_image_path": "images/nope.png", "pos_text": "y"},
     "row 2, field 'qry_image_path': no such image file"),
    ({"qry": 5, "pos_text": "y"}, "row 2, field 'qry': must be a string"),
    ({"qry": "x", "pos_text": "", "pos_image_path": ""}, "row 2, field 'pos_text': empty side"),
    ({"qry": {"text": "x"}, "pos": "y"}, "row 2, field 'pos': must be an object"),
    ({"qry": {"text": "x", "video": "nofolder"}, "pos": {"text": "y"}},
     "row 2, field 'qry.video': no such frame folder"),
    ({"id": True, "qry": "x", "pos_text": "y"}, "row 2, field 'id'"),
    ({"text": "x"}, "row 2, field 'qry': cannot tell the row layout"),
])
def test_bad_rows_name_file_row_field(image_dir, row, where):
    path = write_pairs(image_dir / "bad.jsonl", [mmeb_rows(1)[0], row])
    with pytest.raises(InputError) as e:
        read_annotation_pairs(path)
    assert e.value.one_line().startswith(f"{path}, {where}")


def test_duplicate_ids_and_malformed_json(image_dir):
    path = write_pairs(image_dir / "bad.jsonl", [{"id": "a", "qry": "x", "pos_text": "y"}] * 2)
    with pytest.raises(InputError, match="row 2, field 'id': duplicate id 'a' \\(first on row 1\\)"):
        read_annotation_pairs(path)
    path.write_text('{"qry": "x", "pos_text": "y"}\n{"qry": \n')
    with pytest.raises(InputError, match="row 2: malformed JSON"):
        read_annotation_pairs(path)
