"""A released checkpoint (no umer1.json) gets the reference evaluation's visual preprocessing:
the blank image of a text-only input is 56x56 (4 visual tokens), frames keep near-native size."""
import shutil

import pytest
from PIL import Image

from umer1 import UMEModel
from umer1.engine.inputs import as_input
from umer1.engine.settings import SETTINGS_FILE, EmbeddingSettings


@pytest.fixture(scope="module")
def released_like(tiny_qwen_tok_dir, tmp_path_factory):
    path = tmp_path_factory.mktemp("released") / "model"
    shutil.copytree(tiny_qwen_tok_dir, path)
    (path / SETTINGS_FILE).unlink()
    return UMEModel.from_pretrained(path)


def _image_pads(model, item):
    batch = model.batch([as_input(item)])
    pad = model.processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    return int((batch["input_ids"] == pad).sum()), batch


def test_text_only_input_gets_the_56px_blank_image(released_like):
    assert released_like.settings == EmbeddingSettings.reference()
    n, batch = _image_pads(released_like, "a query")
    assert batch["image_grid_thw"].tolist() == [[1, 4, 4]]
    assert n == 4


def test_a_model_trained_here_keeps_its_own_format(tiny_qwen_tok_dir):
    model = UMEModel.from_pretrained(tiny_qwen_tok_dir)
    assert model.settings.fetch_min_pixels is None
    n, batch = _image_pads(model, "a query")
    assert batch["image_grid_thw"].tolist() == [[1, 2, 2]] and n == 1


def test_frames_keep_near_native_size(released_like, tmp_path):
    frames = []
    for i in range(2):
        p = tmp_path / f"f{i}.png"
        Image.new("RGB", (448, 336), (i * 50, 0, 0)).save(p)
        frames.append(str(p))
    batch = released_like.batch([as_input({"text": "a clip", "video": frames})])
    t, h, w = batch["video_grid_thw"].tolist()[0]
    assert (h * 14, w * 14) == (336, 448), "448x336 frames are not downscaled (cap 2,359,296 pixels)"
