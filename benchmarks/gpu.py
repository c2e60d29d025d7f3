"""GPU figures for a random-initialised, real-size Qwen2-VL-2B or Qwen3-VL-2B (config only, no
weights needed).

Measures disc embeddings/s, gen tokens/s (HF generate; vLLM too when installed), and one SFT
step's time and peak memory (last-layer forward vs keeping every layer's hidden states), each
ratio against a baseline measured in the same run. Run through benchmarks/gpu.sh; `--smoke`
runs the same code with a small model on the CPU (for checking the script itself).
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from umer1 import UMEModel  # noqa: E402
from umer1.engine.backbones import get_backbone  # noqa: E402
from umer1.engine.positions import disc_positions, gather, gen_positions, normalize  # noqa: E402
from umer1.engine.forward import TeacherForced  # noqa: E402
from umer1.engine.inputs import as_input  # noqa: E402
from umer1.train.sft.losses import info_nce, ntp_loss  # noqa: E402
from umer1.engine.settings import EmbeddingSettings  # noqa: E402
from umer1.engine.tiny import build_processor  # noqa: E402
from umer1.engine.vocab import QWEN2_VL_SPECIAL_TOKENS, build_tokenizer  # noqa: E402
from umer1.engine.tokens import add_embedding_tokens  # noqa: E402
from transformers import Qwen2VLConfig, Qwen3VLConfig  # noqa: E402


def qwen2_vl_config(ids: dict, s: dict):
    head_dim = s["hidden"] // s["heads"]
    half = head_dim // 2
    section = [half // 4, (half - half // 4) // 2, half - half // 4 - (half - half // 4) // 2]
    return Qwen2VLConfig(
        text_config=dict(vocab_size=151936, hidden_size=s["hidden"], intermediate_size=s["inter"],
                         num_hidden_layers=s["layers"], num_attention_heads=s["heads"],
                         num_key_value_heads=s["kv"], max_position_embeddings=32768,
                         rope_parameters={"rope_type": "default", "rope_theta": 1e6, "mrope_section": section},
                         bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"],
                         pad_token_id=ids["<|endoftext|>"], tie_word_embeddings=True),
        vision_config=dict(depth=s["vdepth"], embed_dim=s["vdim"], hidden_size=s["hidden"],
                           num_heads=s["vheads"], mlp_ratio=4, patch_size=14, spatial_merge_size=2,
                           temporal_patch_size=2),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=True)


def qwen3_vl_config(ids: dict, s: dict):
    half = s["head_dim"] // 2
    t = half * 3 // 8                            # [24, 20, 20] at head_dim 128
    return Qwen3VLConfig(
        text_config=dict(vocab_size=151936, hidden_size=s["hidden"], intermediate_size=s["inter"],
                         num_hidden_layers=s["layers"], num_attention_heads=s["heads"],
                         num_key_value_heads=s["kv"], head_dim=s["head_dim"],
                         max_position_embeddings=262144, rms_norm_eps=1e-6,
                         rope_parameters={"rope_type": "default", "rope_theta": 5e6,
                                          "mrope_section": [t, (half - t) // 2, half - t - (half - t) // 2],
                                          "mrope_interleaved": True},
                         bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"],
                         pad_token_id=ids["<|endoftext|>"], tie_word_embeddings=True),
        vision_config=dict(depth=s["vdepth"], hidden_size=s["vdim"], intermediate_size=s["vinter"],
                           num_heads=s["vheads"], out_hidden_size=s["hidden"], patch_size=16,
                           spatial_merge_size=2, temporal_patch_size=2, num_position_embeddings=2304,
                           deepstack_visual_indexes=s["deepstack"]),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=True)


# Qwen2-VL-2B-Instruct's architecture (its config.json on the hub).
QWEN2_VL_2B = dict(hidden=1536, layers=28, heads=12, kv=2, inter=8960, vdepth=32, vdim=1280, vheads=16)
# Qwen3-VL-2B-Instruct's architecture, from its config.json on the hub (Qwen/Qwen3-VL-2B-Instruct):
# text_config hidden_size 2048, intermediate_size 6144, 28 layers, 16 heads, 8 KV heads, head_dim
# 128, rope_theta 5e6, interleaved mrope [24, 20, 20], tied embeddings (the Qwen3-1.7B decoder);
# vision_config depth 24, hidden_size 1024, intermediate_size 4096, 16 heads, patch 16, merge 2,
# out_hidden_size 2048, deepstack_visual_indexes [5, 11, 17].
QWEN3_VL_2B = dict(hidden=2048, layers=28, heads=16, kv=8, head_dim=128, inter=6144, vdepth=24,
                   vdim=1024, vinter=4096, vheads=16, deepstack=[5, 11, 17])
SMOKE2 = dict(hidden=128, layers=2, heads=2, kv=1, inter=256, vdepth=1, vdim=64, vheads=2)
SMOKE3 = dict(hidden=128, layers=2, heads=2, kv=1, head_dim=64, inter=256, vdepth=2, vdim=64,
              vinter=128, vheads=2, deepstack=[0])
# name -> (backbone, config builder, real sizes, smoke sizes)
ARCHS = {"qwen2_vl_2b": ("qwen2_vl", qwen2_vl_config, QWEN2_VL_2B, SMOKE2),
         "qwen3_vl_2b": ("qwen3_vl", qwen3_vl_config, QWEN3_VL_2B, SMOKE3)}


def build(arch: str, smoke: bool, device: str, dtype) -> UMEModel:
    name, config, sizes, small = ARCHS[arch]
    bb = get_backbone(name)
    tok = build_tokenizer("qwen", bb)
    add_embedding_tokens(tok)
    ids = {t: tok.convert_tokens_to_ids(t) for t in QWEN2_VL_SPECIAL_TOKENS}
    cfg = config(ids, small if smoke else sizes)
    torch.manual_seed(0)
    with torch.device(device):
        model = bb.model_class._from_config(cfg, dtype=dtype, attn_implementation="sdpa")
    model.eval()
    settings = EmbeddingSettings(prompt_format=bb.chat.name, max_pixels=448 * 448)
    return UMEModel(model, build_processor(bb, tok, settings), bb, settings, name=f"random {arch}")


def inputs(n: int, px: int):
    return [as_input({"text": f"Represent the given image number {i} for classification",
                      "image": [Image.new("RGB", (px, px), (i * 7 % 255, 80, 160))]}) for i in range(n)]


def sync():
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def timed(fn, repeats: int) -> float:
    fn()
    sync()
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        sync()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts)


def sft_step(m: UMEModel, items, answer: str, all_layers: bool) -> tuple[float, float]:
    """One full SFT step (both sides, four loss terms, AdamW); returns (seconds, peak GiB)."""
    m.model.train()
    m.model.gradient_checkpointing_enable()  # as the reference recipe trains
    tf = TeacherForced(m.model)
    opt = torch.optim.AdamW([p for p in m.model.parameters() if p.requires_grad], lr=1e-6)
    batch = m.batch(items, assistant=[answer] * len(items))
    start = int((batch["input_ids"] == m.ids.disc).nonzero()[0, 1])  # assistant text comes after
    score = torch.zeros_like(batch["input_ids"], dtype=torch.bool)
    score[:, start + 1:] = batch["attention_mask"][:, start + 1:].bool()

    def step():
        opt.zero_grad(set_to_none=True)
        embs = []
        loss = 0.0
        for _side in range(2):
            if all_layers:  # the reference's way: every layer's hidden states kept
                out = m.hf_model(**batch, output_hidden_states=True, use_cache=False)
                hidden = out.hidden_states[-1]
                lp = torch.log_softmax(out.logits.float()[:, :-1], -1).gather(
                    2, batch["input_ids"][:, 1:, None]).squeeze(2)
                lp = torch.cat([torch.zeros_like(lp[:, :1]), lp], 1)
            else:
                o = tf(batch, score)
                hidden, lp = o.hidden, o.logprobs
            d = normalize(gather(hidden, disc_positions(batch["input_ids"], m.ids.disc)))
            g = gen_positions(batch["input_ids"], m.ids.gen, start + 1)
            embs.append((d, normalize(gather(hidden, g.clamp(min=0)))))
            loss = loss + ntp_loss(lp, score)
        loss = loss + info_nce(embs[0][0], embs[1][0], gather=False) + \
            info_nce(embs[0][1], embs[1][1], gather=False)
        loss.backward()
        opt.step()

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
    t = timed(step, 2)
    peak = torch.cuda.max_memory_allocated() / 2 ** 30 if torch.cuda.is_available() else None
    m.model.eval()
    return t, peak


def vllm_tokens_per_s(m: UMEModel, prompts, max_new: int) -> float | None:
    try:
        import vllm  # noqa: F401
    except ImportError:
        return None
    import tempfile
    from vllm import LLM, SamplingParams
    with tempfile.TemporaryDirectory() as d:
        m.save_pretrained(d)
        llm = LLM(model=d, dtype="bfloat16", gpu_memory_utilization=0.5, limit_mm_per_prompt={"image": 1})
        req = [{"prompt": p.text, "multi_modal_data": {"image": p.images[0]}} for p in prompts]
        sp = SamplingParams(max_tokens=max_new, ignore_eos=True, temperature=0)
        llm.generate(req[:2], sp)
        t = time.perf_counter()
        outs = llm.generate(req, sp)
        dt = time.perf_counter() - t
        return sum(len(o.outputs[0].token_ids) for o in outs) / dt


def main(argv=None) -> int:
    import logging
    logging.getLogger("umer1.engine.model").setLevel(logging.ERROR)  # random weights never emit <gen_emb>
    ap = argparse.ArgumentParser()
    ap.add_argument("--smoke", action="store_true", help="small model on the CPU, to check the script")
    ap.add_argument("--arch", choices=list(ARCHS), default="qwen2_vl_2b")
    ap.add_argument("--out", default=None, help="default: benchmarks/results/gpu.json for "
                    "qwen2_vl_2b, benchmarks/results/gpu_ARCH.json for the others")
    args = ap.parse_args(argv)
    out_path = args.out or str(Path(__file__).parent / "results" / (
        "gpu.json" if args.arch == "qwen2_vl_2b" else f"gpu_{args.arch}.json"))
    device = "cpu" if args.smoke else "cuda"
    dtype = torch.float32 if args.smoke else torch.bfloat16
    n, px, new = (4, 64, 8) if args.smoke else (32, 448, 128)
    t0 = time.time()
    m = build(args.arch, args.smoke, device, dtype)
    res = {"arch": args.arch,
           "device": torch.cuda.get_device_name() if torch.cuda.is_available() and not args.smoke
           else platform.processor() or "cpu", "torch": torch.__version__,
           "params": sum(p.numel() for p in m.model.parameters()), "batch": n, "image_px": px}
    items = inputs(n, px)
    with torch.no_grad():
        t_b = timed(lambda: m.encode(items, batch_size=n), 3)
        t_1 = timed(lambda: m.encode(items[:8], batch_size=1), 2) * n / 8
        res["disc_items_per_s"] = n / t_b
        res["disc_batched_vs_single"] = t_1 / t_b
        out = {}

        def gen():
            out["g"] = m.generate(items, batch_size=n, max_new_tokens=new)
        t_g = timed(gen, 2)
        res["gen_tokens_per_s_hf"] = float(out["g"].num_tokens.sum()) / t_g
        res["gen_items_per_s_hf"] = n / t_g
        res["gen_new_tokens"] = new
    from umer1.engine.processing import load_prompt
    prompts = [load_prompt(i, m.settings, resize_factor=m.backbone.resize_factor) for i in items]
    res["gen_tokens_per_s_vllm"] = vllm_tokens_per_s(m, prompts, new) if not args.smoke else None
    answer = "<think>" + "reasoning " * (8 if args.smoke else 100) + "</think><answer>a summary\n<gen_emb>"
    k = 2 if args.smoke else 8
    t_last, mem_last = sft_step(m, items[:k], answer, all_layers=False)
    t_all, mem_all = sft_step(m, items[:k], answer, all_layers=True)
    res.update(sft_pairs=k, sft_step_s=t_last, sft_step_s_all_layers=t_all, sft_peak_gib=mem_last,
               sft_peak_gib_all_layers=mem_all, sft_memory_ratio_all_vs_last=mem_all / mem_last
               if mem_last else None, seconds=round(time.time() - t0, 1))
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    Path(out_path).write_text(json.dumps(res, indent=2) + "\n")
    print(json.dumps(res, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
