import json

import pytest
from PIL import Image

from umer1.data.rl import read_rl_pairs
from umer1.utils.errors import InputError


def _write(path, rows):
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def media(tmp_path):
    Image.new("RGB", (40, 30), (10, 200, 30)).save(tmp_path / "a.png")
    for i in range(3):
        Image.new("RGB", (32, 32), (i * 60, 0, 0)).save(tmp_path / f"f{i}.jpg")
    return tmp_path


def test_reads_image_video_and_text_text_pairs(media):
    rows = [
        {"dataset_name": "cap", "qry_text": "<|image_1|>\nRepresent the given image", "qry_image": "a.png",
         "qry_video": [], "pos_text": "a green picture", "pos_image": "", "pos_video": []},
        {"dataset_name": "vid", "qry_text": "Find the clip", "qry_image": "",
         "qry_video": ["f0.jpg", "f1.jpg", "f2.jpg"], "pos_text": "red frames", "pos_image": "",
         "pos_video": []},
        {"dataset_name": "tt", "qry_text": "what is a cat", "qry_image": "", "qry_video": [],
         "pos_text": "a small feline", "pos_image": "", "pos_video": []},
        {"qry_text": "no optional keys", "pos_text": "fine"},
    ]
    pairs = read_rl_pairs(_write(media / "rl.jsonl", rows))
    assert [p.row for p in pairs] == [1, 2, 3, 4]
    assert pairs[0].query.images == [str(media / "a.png")]
    assert pairs[0].query.text == "Represent the given image"     # placeholder removed
    assert pairs[0].target.images == [] and pairs[0].target.video is None
    assert pairs[1].query.video == [str(media / f"f{i}.jpg") for i in range(3)]
    assert pairs[2].query.text == "what is a cat" and pairs[2].target.text == "a small feline"
    assert pairs[3].dataset == ""


@pytest.mark.parametrize("row, field", [
    ({"qry_text": "x", "qry_image": "missing.png", "pos_text": "y"}, "qry_image"),
    ({"qry_text": "x", "pos_text": 3}, "pos_text"),
    ({"qry_text": "x", "pos_text": "", "pos_image": ""}, "pos_text"),
    ({"qry_text": "x", "pos_text": "y", "pos_video": {"a": 1}}, "pos_video"),
    ({"qry_text": "x", "pos_text": "y", "pos_video": ["nope.jpg"]}, "pos_video"),
])
def test_errors_name_file_row_and_field(media, row, field):
    path = _write(media / "bad.jsonl", [{"qry_text": "ok", "pos_text": "ok"}, row])
    with pytest.raises(InputError) as err:
        read_rl_pairs(path)
    assert err.value.file == str(path) and err.value.row == 2 and err.value.field == field


def test_malformed_and_empty_files(media):
    bad = media / "m.jsonl"
    bad.write_text('{"qry_text": "a", "pos_text": "b"}\n{oops\n')
    with pytest.raises(InputError) as err:
        read_rl_pairs(bad)
    assert err.value.row == 2
    empty = media / "e.jsonl"
    empty.write_text("\n")
    with pytest.raises(InputError, match="no pairs"):
        read_rl_pairs(empty)
