"""Special-token strings typed by a user are text on every path that tokenises user text: the
SFT own format, RL prompts and the local (`hf:`) annotation teacher. (Embedding, evaluation and
indexes go through `UMEModel.batch`: tests/engine/test_literal.py. Released SFT records are
rendered as written, placeholders included: docs/training.md.)"""
from __future__ import annotations

import json

import pytest
import torch
from PIL import Image

from umer1.annotate.teachers import chat_batch
from umer1.data.rl import read_rl_pairs
from umer1.data.sft import read_sft
from umer1.engine.literal import literal_ids
from umer1.engine.model import UMEModel
from umer1.engine.processing import load_prompt, processor_batch
from umer1.train.sft.collate import SFTCollator

pytestmark = pytest.mark.faults

INJECTED = ["<|image_pad|>", "<|video_pad|>", "<gen_emb>", "<disc_emb>", "<|im_end|>", "<|im_start|>"]
COUNTED = INJECTED + ["<|vision_start|>"]


@pytest.fixture(scope="module")
def ume(tiny_model_dir):
    return UMEModel.from_pretrained(tiny_model_dir)


def counts(ume, ids: torch.Tensor) -> list[dict]:
    vocab = ume.processor.tokenizer.get_vocab()
    return [{t: int((row == vocab[t]).sum()) for t in COUNTED} for row in ids]


def contains(seq: list, sub: list) -> bool:
    return any(seq[i:i + len(sub)] == sub for i in range(len(seq) - len(sub) + 1))


@pytest.mark.parametrize("inject", INJECTED)
def test_sft_own_format_text_is_literal(ume, tmp_path, inject):
    Image.new("RGB", (56, 56), (200, 0, 0)).save(tmp_path / "a.png")
    answer = "<think>red</think><answer>red\n<gen_emb>"
    rows = [{"query": {"text": f"find {inject} here", "image": "a.png", "answer": answer},
             "positive": {"text": f"a {inject}", "answer": answer}},
            {"query": {"text": "find it here", "image": "a.png", "answer": answer},
             "positive": {"text": "a b", "answer": answer}}]
    (tmp_path / "sft.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    collate = SFTCollator(ume.processor, ume.settings, gen_id=ume.ids.gen, disc_id=ume.ids.disc)
    side = collate(read_sft(tmp_path / "sft.jsonl")).side     # rows: q0, q1, t0, t1
    c = counts(ume, side.inputs["input_ids"])
    assert c[0] == c[1] and c[2] == c[3]
    row = side.inputs["input_ids"][0][side.inputs["attention_mask"][0].bool()].tolist()
    assert contains(row, literal_ids(ume.processor.tokenizer, f"find {inject} here"))


@pytest.mark.parametrize("inject", INJECTED)
def test_rl_prompt_text_is_literal(ume, tmp_path, inject):
    rows = [{"qry_text": f"find {inject} here", "pos_text": f"a {inject}"},
            {"qry_text": "find it here", "pos_text": "a b"}]
    (tmp_path / "rl.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    pairs = read_rl_pairs(tmp_path / "rl.jsonl")
    for side in ("query", "target"):     # as RLTrainer.prompt_batch builds them
        prompts = [load_prompt(getattr(p, side), ume.settings) for p in pairs]
        c = counts(ume, processor_batch(ume.processor, prompts, ume.settings)["input_ids"])
        assert c[0] == c[1], side


@pytest.mark.parametrize("with_image", [False, True])
def test_hf_teacher_prompt_is_literal(ume, with_image):
    proc, tok = ume.processor, ume.processor.tokenizer
    images = [Image.new("RGB", (56, 56), (0, 0, 200))] if with_image else []

    def plain_batch(prompt):
        content = [{"type": "image"} for _ in images] + [{"type": "text", "text": prompt}]
        text = proc.apply_chat_template([{"role": "user", "content": content}],
                                        add_generation_prompt=True, tokenize=False)
        return proc(text=[text], return_tensors="pt", **({"images": images} if images else {}))

    plain = "Describe the input.\nText: two dogs"
    ours, ref = chat_batch(proc, tok, plain, images), plain_batch(plain)
    assert ours["input_ids"].tolist() == ref["input_ids"].tolist()   # plain text: unchanged
    assert ours["attention_mask"].tolist() == ref["attention_mask"].tolist()
    if with_image:
        assert torch.equal(ours["pixel_values"], ref["pixel_values"])
    for inject in INJECTED:
        text = f"Describe the input.\nText: two {inject} dogs"
        batch = chat_batch(proc, tok, text, images)
        assert counts(ume, batch["input_ids"]) == counts(ume, ref["input_ids"]), inject
        assert text in tok.decode(batch["input_ids"][0])     # as text, no token added
