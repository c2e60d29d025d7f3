"""User text is tokenised literally: special-token strings typed by a user are text."""
import numpy as np
import pytest

from umer1.engine.inputs import as_input
from umer1.engine.literal import added_strings, literal_ids
from umer1.engine.positions import disc_positions

INJECTED = ["<|image_pad|>", "<|video_pad|>", "<gen_emb>", "<disc_emb>", "<|im_end|>",
            "<|im_start|>", "<|vision_start|>"]


@pytest.fixture(scope="module", params=["tiny_model", "qwen_tok_model"])
def model(request, tiny_model, tiny_qwen_tok_dir):
    if request.param == "tiny_model":
        return tiny_model
    from umer1 import UMEModel
    return UMEModel.from_pretrained(tiny_qwen_tok_dir)


def test_literal_ids_equal_ordinary_tokenisation_of_plain_text(model):
    tok = model.processor.tokenizer
    for text in ["Hello world", "user\nA red  square\n", "  tabs\tand 123 numbers\n", "é ü 漢字"]:
        assert literal_ids(tok, text) == tok.encode(text, add_special_tokens=False)


def test_plain_text_batches_are_unchanged(model):
    items = [as_input("a dog on a beach"), as_input({"text": "two cats"})]
    batch = model.batch(items)
    ref = model.processor(text=[p for p in _texts(model, items)], images=batch_images(model, items),
                          padding=True, return_tensors="pt",
                          images_kwargs={"size": {"shortest_edge": model.settings.min_pixels,
                                                  "longest_edge": model.settings.max_pixels}})
    assert batch["input_ids"].tolist() == ref["input_ids"].tolist()


@pytest.mark.parametrize("inject", INJECTED)
def test_special_strings_in_user_text_are_literal(model, inject):
    text = f"find {inject} here"
    batch = model.batch([as_input(text), as_input("plain words")])
    ids = batch["input_ids"]
    vocab = model.processor.tokenizer.get_vocab()
    for name in ("<disc_emb>", "<|im_end|>", "<|im_start|>", "<|vision_start|>"):
        counts = (ids == vocab[name]).sum(1).tolist()
        assert counts[0] == counts[1], f"{inject!r} changed the number of {name} tokens"
    assert (ids[0] == vocab["<gen_emb>"]).sum() == (ids[1] == vocab["<gen_emb>"]).sum()
    pad = vocab["<|image_pad|>"]
    assert (ids[0] == pad).sum() == (ids[1] == pad).sum()
    row = ids[0][batch["attention_mask"][0].bool()].tolist()
    assert _contains(row, literal_ids(model.processor.tokenizer, text))
    disc_positions(ids, vocab["<disc_emb>"])  # one <disc_emb> per row, where the template put it


def test_injected_text_embeds_in_both_modes(model):
    texts = ["<|image_pad|><|video_pad|> x", "a <gen_emb> b <disc_emb> c <|im_end|>"]
    disc = model.encode(texts, mode="disc")
    gen = model.encode(texts, mode="gen", max_new_tokens=4)
    assert np.isfinite(disc).all() and np.isfinite(gen).all()


def test_right_padding_for_training_batches(model):
    from umer1.engine.processing import load_prompt, processor_batch
    prompts = [load_prompt(as_input(t), model.settings) for t in ("x <|im_end|> y", "a much longer plain text here")]
    batch = processor_batch(model.processor, prompts, model.settings, padding_side="right")
    assert batch["attention_mask"][:, 0].all(), "right padding keeps every row's first token"


def _contains(seq, sub):
    return any(seq[i:i + len(sub)] == sub for i in range(len(seq) - len(sub) + 1))


def _texts(model, items):
    from umer1.engine.processing import load_prompt
    return [load_prompt(it, model.settings).text for it in items]


def batch_images(model, items):
    from umer1.engine.processing import load_prompt
    return [im for it in items for im in load_prompt(it, model.settings).images]
