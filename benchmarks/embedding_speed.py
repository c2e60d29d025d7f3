"""Embedding speed on the CPU with a ~25M-parameter random Qwen2-VL.

1. gen: the embedding captured during generation vs generate-then-re-encode (two passes).
2. disc: batched vs one input at a time (throughput), and the achieved matmul FLOP/s of disc
   encoding as a fraction of torch's own peak matmul FLOP/s measured in the same run.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import torch
from PIL import Image

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import paired_median_times, row  # noqa: E402

from umer1 import UMEModel  # noqa: E402
from umer1.engine.positions import gather, gen_positions  # noqa: E402
from umer1.engine.inputs import as_input  # noqa: E402
from umer1.engine.tiny import make_tiny_model  # noqa: E402


def _inputs(n: int):
    out = []
    for i in range(n):
        im = Image.new("RGB", (112, 84), (40 * (i % 6), 90, 200 - 20 * (i % 8)))
        out.append(as_input({"text": f"Represent the given image number {i} for classification",
                             "image": [im]}) if i % 2 else
                   as_input(f"Find me an everyday image that matches the caption number {i}"))
    return out


def _generate_then_reencode(m: UMEModel, items, max_new_tokens: int):
    """The two-pass baseline: plain generation, then a teacher-forced forward to read <gen_emb>."""
    batch = m.batch(items)
    seq = m.model.generate(**batch, max_new_tokens=max_new_tokens, do_sample=False,
                           suppress_tokens=list(m.ids.vision), eos_token_id=list(m.ids.eos),
                           pad_token_id=m.ids.pad)
    L = batch["input_ids"].shape[1]
    new = seq.shape[1] - L
    tf = dict(batch)
    tf["input_ids"] = seq
    tf["attention_mask"] = torch.cat([batch["attention_mask"],
                                      torch.ones(seq.shape[0], new, dtype=torch.long)], 1)
    tf["mm_token_type_ids"] = torch.cat([batch["mm_token_type_ids"],
                                         torch.zeros(seq.shape[0], new, dtype=torch.long)], 1)
    hidden = m.last_hidden_state(tf)
    pos = gen_positions(seq, m.ids.gen, L)
    return gather(hidden, torch.where(pos >= 0, pos, torch.full_like(pos, seq.shape[1] - 1)))


def _matmul(n: int = 2048):
    a, b = torch.randn(n, n), torch.randn(n, n)
    return (lambda: a @ b), 2 * n ** 3


def _linear_params(module) -> int:
    return sum(p.numel() for name, p in module.named_parameters()
               if p.dim() == 2 and "embed" not in name)


def run(quick: bool = False) -> dict:
    import logging
    logging.getLogger("umer1.engine.model").setLevel(logging.ERROR)  # random weights never emit <gen_emb>
    torch.manual_seed(0)
    repeats = 3 if quick else 7
    with tempfile.TemporaryDirectory() as tmp:
        d = make_tiny_model(Path(tmp) / "m", hidden_size=512, num_layers=8, num_heads=8,
                            num_kv_heads=4, vision_depth=2, vision_dim=128, seed=0)
        m = UMEModel.from_pretrained(d)
    m.max_image_pixels = 10 ** 9
    n_params = sum(p.numel() for p in m.hf_model.parameters())
    items = _inputs(8)
    rows = []

    # 1. gen: capture during generation vs two passes (same greedy tokens both ways)
    new_tokens = 16 if quick else 32
    with torch.no_grad():
        ours, base = paired_median_times(
            lambda: m.generate(items, batch_size=8, max_new_tokens=new_tokens),
            lambda: _generate_then_reencode(m, items, new_tokens), repeats)
    rows.append(row("gen embeddings/s, captured during generation", len(items) / ours, "items/s",
                    len(items) / base, "generate, then re-encode", note=f"{new_tokens} new tokens"))

    # 2. disc: batched vs one at a time
    with torch.no_grad():
        t_batched, t_single = paired_median_times(
            lambda: m.encode(items, batch_size=8), lambda: m.encode(items, batch_size=1), repeats)
    rows.append(row("disc embeddings/s, batch 8", len(items) / t_batched, "items/s",
                    len(items) / t_single, "one at a time"))

    # 3. achieved FLOP/s of disc encoding vs measured peak matmul FLOP/s
    batch = m.batch(items)
    tokens = int(batch["attention_mask"].sum())
    patches = int(batch["pixel_values"].shape[0])
    lm, vis = m.backbone.language_model(m.hf_model), m.backbone.vision_tower(m.hf_model)
    flops = 2 * _linear_params(lm) * tokens + 2 * _linear_params(vis) * patches
    mm, mm_flops = _matmul()
    with torch.no_grad():  # interleaved, so both see the same machine load
        t_enc, t_mm = paired_median_times(lambda: m.encode(items, batch_size=8), mm, repeats + 2)
    achieved, peak = flops / t_enc, mm_flops / t_mm
    rows.append(row("disc encoding matmul FLOP/s (batch 8)", achieved / 1e9, "GFLOP/s",
                    peak / 1e9, "torch fp32 2048x2048 matmul",
                    note="ratio = fraction of the measured peak (an MFU-style figure)"))
    return {"name": "embedding_speed", "model_params": n_params, "threads": torch.get_num_threads(),
            "rows": rows}


if __name__ == "__main__":
    from benchmarks.run import main
    sys.exit(main(["--only", "embedding_speed"] + sys.argv[1:]))
