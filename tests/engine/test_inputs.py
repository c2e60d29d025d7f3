"""Input files: every kind of bad row or image is an InputError naming where it is."""
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from umer1.engine.inputs import (MAX_ASPECT_RATIO, check_image_file, load_image, read_embed_inputs,
                                 read_jsonl)
from umer1.utils.errors import InputError


def test_utf16_and_other_non_utf8_files_name_file_and_row(tmp_path):
    p = tmp_path / "in.jsonl"
    p.write_text('{"text": "a"}\n', encoding="utf-16")
    with pytest.raises(InputError, match=r"in.jsonl, row 1: the file is UTF-16"):
        list(read_jsonl(p))
    p.write_text('{"text": "a"}\n', encoding="utf-16-le")     # no byte-order mark
    with pytest.raises(InputError, match=r"row 1: NUL characters"):
        list(read_jsonl(p))
    p.write_bytes(b'{"text": "ok"}\n{"text": "caf\xe9"}\n')       # Latin-1
    with pytest.raises(InputError, match=r"row 2: not UTF-8 text"):
        list(read_jsonl(p))
    p.write_bytes(b'\xef\xbb\xbf{"text": "bom"}\n')              # a UTF-8 BOM is fine
    assert [r for _, r in read_jsonl(p)] == [{"text": "bom"}]


def test_misspelt_field_is_an_error_naming_it(tmp_path):
    Image.new("RGB", (30, 30)).save(tmp_path / "a.png")
    p = tmp_path / "in.jsonl"
    p.write_text('{"id": 3, "text": "x", "image": "a.png"}\n{"text": "x", "imgae": "a.png"}\n')
    with pytest.raises(InputError) as e:
        read_embed_inputs(p)
    assert e.value.one_line().startswith(f"{p}, row 2, field 'imgae': unknown field "
                                         "(did you mean 'image'?)")


def test_extreme_aspect_ratio_is_refused(tmp_path):
    Image.new("RGB", (1, 5000)).save(tmp_path / "thin.png")
    with pytest.raises(InputError, match=f"aspect ratio over the limit of {MAX_ASPECT_RATIO}:1"):
        check_image_file(str(tmp_path / "thin.png"))
    with pytest.raises(InputError, match="aspect ratio"):
        load_image(Image.new("RGB", (5000, 2)))
    load_image(Image.new("RGB", (10, 2000)))      # 200:1 is what the processor accepts


@pytest.mark.parametrize("mode,value,expected", [
    ("I;16", 30000, round(30000 / 65535 * 255)),
    ("I", 40000, round(40000 / 65535 * 255)),
    ("I", 100, 100),
    ("F", 0.5, 128),
])
def test_high_bit_depth_images_are_scaled_not_clipped(tmp_path, mode, value, expected):
    im = Image.new(mode, (8, 8), value)
    rgb = np.asarray(load_image(im))
    assert rgb.shape == (8, 8, 3) and (rgb == expected).all()
    if mode == "I;16":                       # the same through a 16-bit PNG file
        im.save(tmp_path / "deep.png")
        assert (np.asarray(load_image(str(tmp_path / "deep.png"))) == expected).all()


def test_truncated_jpeg_fails_the_up_front_check_naming_the_file(tmp_path):
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 255, (64, 64, 3), dtype=np.uint8)).save(tmp_path / "full.jpg")
    data = (tmp_path / "full.jpg").read_bytes()
    (tmp_path / "cut.jpg").write_bytes(data[:len(data) // 2])
    check_image_file(str(tmp_path / "full.jpg"))
    with pytest.raises(InputError) as e:
        check_image_file(str(tmp_path / "cut.jpg"), "image")
    assert "cut.jpg" in str(e.value) and e.value.field == "image" and e.value.kind == "invalid_image"


def _png_header_only(path, width, height):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b""))
                     + chunk(b"IEND", b""))


def test_decompression_bomb_is_over_the_pixel_cap_not_invalid(tmp_path):
    _png_header_only(tmp_path / "bomb.png", 20000, 20000)   # over Pillow's own limit at open
    with pytest.raises(InputError) as e:
        check_image_file(str(tmp_path / "bomb.png"), max_pixels=10**12)
    assert "over the pixel cap" in str(e.value) and "cannot read" not in str(e.value)
    assert e.value.kind == "image_too_large"
