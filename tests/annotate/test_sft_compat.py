"""What `umer1 annotate` writes is read by the SFT reader, visuals and all."""
from __future__ import annotations

from tests.annotate.conftest import write_pairs

from umer1.cli import main
from umer1.data.sft import read_sft
from umer1.engine.prompts import render_sft_side


def test_output_parses_with_the_sft_reader(chat_server, image_dir, tiny_model_dir):
    rows = [{"qry": {"text": "what animal is this?", "image": "images/cat.png"}, "pos": {"text": "a cat"}},
            {"dataset_name": "clips", "qry": {"text": "a ball", "video": "frames"},
             "pos": {"image": ["images/cat.png", "images/dog.jpg"]}}]
    inp = write_pairs(image_dir / "pairs.jsonl", rows)
    out = image_dir / "sft.jsonl"
    with chat_server() as server:
        assert main(["annotate", "--teacher", f"openai:{server.base_url}/m", "--input", str(inp),
                     "--output", str(out), "--tokenizer", str(tiny_model_dir), "--no-progress",
                     "--video-frames", "4"]) == 0
    # 1 + 0 + 4 frames + 2 images were sent
    assert sorted(e["images"] for e in server.log) == [0, 1, 2, 4]
    a, b = read_sft(out, data_root=image_dir)
    assert (a.dataset, b.dataset) == ("pairs", "clips")
    assert a.query.images == [str(image_dir / "images/cat.png")] and a.target.images == []
    assert b.query.video == [str(image_dir / f"frames/{i:03d}.png") for i in range(10)]
    assert len(b.target.images) == 2 and b.target.text.startswith("<image>\n<image>\n")
    assert a.target.answer == "<think>The input is: a cat. It shows what a match must share.</think>" \
                           "<answer>summary of a cat\n<gen_emb>"
    for side, n_img, n_vid in ((a.query, 1, 0), (a.target, 1, 0), (b.query, 0, 1), (b.target, 2, 0)):
        # text-only sides get the blank image at training time, placed first by the renderer
        text = render_sft_side(side.text, side.answer, n_img, n_vid)
        assert text.count("<|image_pad|>") == n_img and text.count("<|video_pad|>") == n_vid
