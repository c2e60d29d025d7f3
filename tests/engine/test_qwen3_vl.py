"""Qwen3-VL specifics: the released tokenizer's ids, the pinned prompt of a text-only, an image
and a video input, `<think>` as one normal token, literal user text around timestamped frames,
the 32-pixel resize, the final norm under DeepStack; and, on every backbone, the per-frame video
cap and one-frame clips (which Qwen3-VL's processor alone would refuse)."""
from __future__ import annotations

import pytest
from PIL import Image

from umer1 import UMEModel
from umer1.cli import main
from umer1.engine import prompts
from umer1.engine.inputs import as_input
from umer1.engine.literal import literal_ids
from umer1.engine.processing import load_prompt
from umer1.engine.settings import EmbeddingSettings
from umer1.train.rl.rewards import format_reward

# Token ids of the Qwen3 tokenizer (Qwen3-VL-*-Instruct tokenizer_config.json added_tokens_decoder)
IM_START, IM_END, NL, USER, ASSISTANT = 151644, 151645, 198, 872, 77091
V_START, V_END, IMAGE_PAD, VIDEO_PAD = 151652, 151653, 151655, 151656
THINK, END_THINK = 151667, 151668
GEN, DISC = 151669, 151670          # added after the released tokens
# "\n<disc_emb>\n" + the generation prompt + the end of the user turn + the assistant header.
# In the prompt, " <think>" is a space (220) and the added <think> token, as the released
# tokenizer splits it.
TAIL = [NL, DISC, NL, 65743, 279, 3403, 1946, 1467, 11, 5335, 11, 6803, 11, 476, 894, 10601, 315,
        279, 2326, 438, 70547, 13, 5512, 2550, 279, 7274, 1882, 304, 220, THINK, 220, END_THINK,
        9492, 323, 1221, 62079, 279, 4453, 1946, 304, 264, 3409, 476, 11652, 13, 17375, 11, 990,
        279, 220, GEN, 4772, 311, 4009, 279, 4453, 1946, 13, IM_END, NL, IM_START, ASSISTANT, NL]
HEAD = [IM_START, USER, NL]         # no system turn: Qwen3-VL's template opens with the user


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    """`umer1 tiny-model --backbone qwen3_vl --tokenizer qwen`: the released vocabulary."""
    out = tmp_path_factory.mktemp("q3") / "m"
    assert main(["tiny-model", str(out), "--backbone", "qwen3_vl", "--tokenizer", "qwen"]) == 0
    return UMEModel.from_pretrained(out)


def _ids(model, item) -> list[int]:
    return model.batch([as_input(item)])["input_ids"][0].tolist()


def _frames():
    return [Image.new("RGB", (64, 64), (40 * i, 0, 0)) for i in range(4)]


def test_released_ids_and_loading(real):
    conv = real.processor.tokenizer.convert_tokens_to_ids
    assert conv(["<|endoftext|>", "<|im_end|>", "<|video_pad|>", "<tool_call>", "<|file_sep|>",
                 "<think>", "</think>"]) == [151643, IM_END, VIDEO_PAD, 151657, 151664, THINK, END_THINK]
    assert (real.ids.gen, real.ids.disc) == (GEN, DISC)
    assert real.hf_model.get_input_embeddings().weight.shape[0] == 151936
    assert type(real.processor).__name__ == "Qwen3VLProcessor"
    assert real.processor.image_processor.patch_size == 16
    assert real.settings.prompt_format == prompts.QWEN3_VL_PROMPT_FORMAT


def test_text_only_prompt_is_pinned(real):
    assert load_prompt(as_input("hello world"), real.settings).text == (
        "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>hello world\n<disc_emb>\n"
        + prompts.GENERATION_PROMPT + "<|im_end|>\n<|im_start|>assistant\n")
    # the 28x28 blank image becomes one 32x32 merged token
    assert _ids(real, "hello world") == HEAD + [V_START, IMAGE_PAD, V_END, 14990, 1879] + TAIL


def test_image_prompt_is_pinned(real):
    image = Image.new("RGB", (64, 96), (200, 10, 10))   # 4 x 6 patches of 16 = 2 x 3 tokens
    assert _ids(real, {"text": "an image", "image": image}) == \
        HEAD + [V_START] + [IMAGE_PAD] * 6 + [V_END, 276, 2168] + TAIL


def test_video_prompt_is_pinned_with_frame_timestamps(real):
    # 4 frames = 2 temporal patches of 2 x 2 tokens; the processor writes "<t seconds>" and a
    # vision block per temporal patch inside the template's outer block (frame lists carry no
    # frame rate, so transformers assumes 24 fps: 0.0 and 0.1 seconds)
    second = [27, 15, 13, 16, 6486, 29]                 # "<0.1 seconds>"
    first = [27, 15, 13, 15, 6486, 29]                  # "<0.0 seconds>"
    assert _ids(real, {"text": "a video", "video": _frames()}) == (
        HEAD + [V_START] + first + [V_START] + [VIDEO_PAD] * 4 + [V_END]
        + second + [V_START] + [VIDEO_PAD] * 4 + [V_END] + [V_END, 64, 2766] + TAIL)


def test_processor_chat_template_gives_the_same_tokens(real):
    image = Image.new("RGB", (64, 96), (200, 10, 10))
    s = real.settings
    messages = [{"role": "user", "content": [
        {"type": "image", "image": image}, {"type": "video", "video": _frames()},
        {"type": "text", "text": prompts.user_text("hi")}]}]
    out = real.processor.apply_chat_template(
        messages, add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt",
        processor_kwargs={"do_sample_frames": False, "videos_kwargs": {
            "size": {"shortest_edge": s.min_pixels, "longest_edge": s.video_max_pixels},
            "cap_pixels_per_frame": True}})
    assert out["input_ids"][0].tolist() == _ids(real, {"text": "hi", "image": image,
                                                         "video": _frames()})


def test_think_is_one_normal_token_kept_by_decoding(real, tiny_qwen3_dir):
    from transformers import AutoProcessor
    completion = "<think>a red square</think><answer>red square\n<gen_emb>"
    for tok in (real.processor.tokenizer, AutoProcessor.from_pretrained(tiny_qwen3_dir).tokenizer):
        ids = tok(completion + "<|im_end|>", add_special_tokens=False).input_ids
        assert ids.count(tok.convert_tokens_to_ids("<think>")) == 1
        decoded = tok.decode(ids, skip_special_tokens=True)
        assert decoded == completion and format_reward([decoded]).tolist() == [1.0]


def test_user_text_with_added_token_strings_stays_literal_beside_a_video(real):
    text = "a <think> b <|im_end|> c"
    ids = _ids(real, {"text": text, "video": _frames()})
    disc = ids.index(DISC)
    user = ids[len(ids) - ids[::-1].index(V_END):disc]          # after the last vision end
    assert user == literal_ids(real.processor.tokenizer, text + "\n")
    assert THINK not in user and IM_END not in user


def test_fetch_resize_rounds_to_32_pixel_tokens(tiny_qwen3_dir):
    m = UMEModel.from_pretrained(tiny_qwen3_dir)
    settings = EmbeddingSettings(prompt_format=m.settings.prompt_format, fetch_min_pixels=4 * 32 * 32,
                                 fetch_max_pixels=64 * 32 * 32)
    image = Image.new("RGB", (100, 70), (1, 2, 3))
    p = load_prompt(as_input({"text": "x", "image": image}), settings,
                    resize_factor=m.backbone.resize_factor)
    assert all(side % 32 == 0 for side in p.images[0].size)


def test_final_norm_is_the_decoders_under_deepstack(tiny_qwen3_dir):
    m = UMEModel.from_pretrained(tiny_qwen3_dir)
    assert m.final_norm is m.hf_model.model.language_model.norm
    assert m.hf_model.config.vision_config.deepstack_visual_indexes  # DeepStack is exercised


def test_video_cap_is_per_frame_on_every_backbone(backbone_dir):
    m = UMEModel.from_pretrained(backbone_dir)
    frames = [Image.new("RGB", (160, 160), (30 * i, 0, 0)) for i in range(m.settings.video_frames)]
    thw = m.batch([as_input({"text": "v", "video": frames})])["video_grid_thw"][0].tolist()
    patch = m.backbone.resize_factor // 2
    assert thw[0] * 2 == len(frames)
    assert m.settings.video_max_pixels // 2 < thw[1] * thw[2] * patch ** 2 <= m.settings.video_max_pixels


def test_frozen_tower_keeps_the_deepstack_mergers_trainable(tiny_qwen3_dir):
    from umer1.train.base.model import freeze_vision_tower
    m = UMEModel.from_pretrained(tiny_qwen3_dir)
    freeze_vision_tower(m)
    tower = m.hf_model.model.visual
    assert not any(p.requires_grad for p in tower.blocks.parameters())
    for projector in (tower.merger, tower.deepstack_merger_list):
        assert all(p.requires_grad for p in projector.parameters())


def test_one_frame_video_embeds_on_every_backbone(backbone_dir):
    m = UMEModel.from_pretrained(backbone_dir)
    item = {"text": "v", "video": [Image.new("RGB", (64, 64), (9, 9, 9))]}
    assert m.batch([as_input(item)])["video_grid_thw"][0, 0].item() == 1
    assert m.encode([item], mode="disc").shape == (1, m.hidden_size)
