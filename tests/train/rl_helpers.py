"""Helpers for the RL tests: a tiny model primed to write the UME-R1 answer format, RL data."""
from __future__ import annotations

import json
from pathlib import Path

import torch
from PIL import Image

from umer1.engine.forward import TeacherForced
from umer1.engine.inputs import EmbedInput
from umer1.engine.model import UMEModel
from umer1.train.rl.rollouts import completion_batch, repeat_rows
from umer1.engine.processing import load_prompt, processor_batch

ANSWERS = ["<think>red</think><answer>red<gen_emb>", "<think>a cat</think><answer>cat<gen_emb>",
           "<think>dog</think><answer>a dog<gen_emb>", "<think>frames</think><answer>clip<gen_emb>"]


def completion_ids(tokenizer, text: str, end_id: int) -> torch.Tensor:
    return torch.tensor(tokenizer(text, add_special_tokens=False)["input_ids"] + [end_id])


def prime_tiny_model(src: Path, out: Path, steps: int = 25, seed: int = 0) -> Path:
    """Teach a random tiny model (a few NTP steps) to answer in the format, so that sampled
    rollouts often, but not always, end with `<gen_emb>`: the rewards then have a spread."""
    torch.manual_seed(seed)
    ume = UMEModel.from_pretrained(src)
    tok = ume.processor.tokenizer
    items = [EmbedInput(text=t) for t in ("a red square", "what is a cat", "dog", "a clip")]
    prompts = [load_prompt(it, ume.settings) for it in items]
    batch = dict(processor_batch(ume.processor, prompts, ume.settings))
    rep = repeat_rows(batch, [1] * 4, [0] * 4, 1)
    comps = [completion_ids(tok, a, ume.ids.eos[0]) for a in ANSWERS]
    tf, mask, _ = completion_batch(rep, comps, gen_id=ume.ids.gen, pad_id=ume.ids.pad,
                                   max_completion_length=64, tokenizer=tok)
    model = TeacherForced(ume.model).train()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3)
    for _ in range(steps):
        lp = model(tf, mask).logprobs
        loss = -(lp * mask).sum() / mask.sum()
        loss.backward()
        opt.step()
        opt.zero_grad()
    ume.model.eval()
    ume.save_pretrained(out)
    return out


def write_rl_data(d: Path, rows: int = 4) -> Path:
    """Image-text, video-text, text-text and text-image pairs (cycled to `rows`)."""
    Image.new("RGB", (56, 56), (200, 10, 10)).save(d / "a.png")
    for i in range(4):
        Image.new("RGB", (56, 56), (i * 50, 10, 10)).save(d / f"f{i}.png")
    base = [{"qry_text": "a red square", "qry_image": "a.png", "pos_text": "red"},
            {"qry_text": "a clip", "qry_video": [f"f{i}.png" for i in range(4)], "pos_text": "frames"},
            {"qry_text": "what is a cat", "pos_text": "a feline"},
            {"qry_text": "dog", "pos_text": "a canine", "pos_image": "a.png"}]
    path = d / "rl.jsonl"
    path.write_text("".join(json.dumps(base[i % 4]) + "\n" for i in range(rows)))
    return path
