import pytest

from umer1.engine import prompts
from umer1.engine.prompts import GENERATION_PROMPT, prepare, render, render_sft_side
from umer1.utils.errors import InputError

SPEC_PROMPT = ("Represent the above input text, images, videos, or any combination of the three as "
               "embeddings. First output the thinking process in <think> </think> tags and then "
               "summarize the entire input in a word or sentence. Finally, use the <gen_emb> tag to "
               "represent the entire input.")


def test_generation_prompt_is_the_spec_line():
    assert GENERATION_PROMPT == SPEC_PROMPT


def test_render_one_image_byte_exact():
    text = "Represent the given image for classification"
    expected = ("<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
                "<|vision_start|><|image_pad|><|vision_end|>" + text + "\n<disc_emb>\n" + SPEC_PROMPT
                + "<|im_end|>\n<|im_start|>assistant\n")
    assert render(text, images=1) == expected


def test_render_strips_text_and_orders_visuals_first():
    out = render("  caption: a dog \n", images=2, video=True)
    assert "<|vision_start|><|image_pad|><|vision_end|>" * 2 + "<|vision_start|><|video_pad|>" \
           "<|vision_end|>caption: a dog\n<disc_emb>\n" in out


def test_render_with_assistant_closes_the_turn():
    out = render("x", assistant="<think>a</think><answer>b\n<gen_emb>")
    assert out.endswith("<|im_start|>assistant\n<think>a</think><answer>b\n<gen_emb><|im_end|>\n")


def test_text_only_gets_a_white_28px_image_by_default():
    p = prepare("just text")
    assert len(p.images) == 1 and p.images[0].size == (28, 28)
    assert p.images[0].getpixel((5, 5)) == (255, 255, 255)
    assert p.text == render("just text", images=1)
    q = prepare("just text", blank_image_for_text=False)
    assert q.images == [] and q.text == render("just text")


def test_sft_side_keeps_record_whitespace_and_places_visuals():
    human = "<image>\nFind the caption\n<disc_emb>\n" + SPEC_PROMPT
    out = render_sft_side(human, "<think>t</think><answer>s\n<gen_emb>", images=1, videos=0)
    assert "user\n<|vision_start|><|image_pad|><|vision_end|>\nFind the caption\n<disc_emb>" in out
    # a text-only side with the blank image: the visual goes first, as at inference
    out2 = render_sft_side("Find\n<disc_emb>\n" + SPEC_PROMPT, "a", images=1, videos=0)
    assert "user\n<|vision_start|><|image_pad|><|vision_end|>Find\n<disc_emb>" in out2


def test_chat_template_matches_render(backbone_dir):
    from transformers import AutoProcessor
    from umer1.engine.settings import EmbeddingSettings
    proc = AutoProcessor.from_pretrained(backbone_dir)
    system = prompts.system_turn(EmbeddingSettings.load(backbone_dir).prompt_format)
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "video"},
                                             {"type": "text", "text": prompts.user_text("hi")}]}]
    assert proc.apply_chat_template(messages, add_generation_prompt=True, tokenize=False) == \
        render("hi", images=1, video=True, system=system)
    # a system turn given in the messages replaces the default one
    with_system = [{"role": "system", "content": "S"}] + messages
    assert proc.apply_chat_template(with_system, add_generation_prompt=True, tokenize=False) == \
        render("hi", images=1, video=True, system="S")


def test_system_turn_per_backbone():
    from umer1.engine.backbones import BACKBONES
    assert {b.name: prompts.system_turn(b.chat.name) for b in BACKBONES.values()} == {
        "qwen2_vl": "You are a helpful assistant.", "qwen2_5_vl": "You are a helpful assistant.",
        "qwen3_vl": None}
    assert render("x", images=1, system=None).startswith(
        "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>x\n<disc_emb>\n")
    assert prepare("x", system=None).text == render("x", images=1, system=None)


def test_unknown_prompt_format_is_an_input_error():
    with pytest.raises(InputError, match="unknown prompt format"):
        prompts.system_turn("ume-r1/other/9")
