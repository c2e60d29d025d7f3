"""`umer1 tiny-model OUT_DIR`: write a random-initialised tiny UME checkpoint."""
from __future__ import annotations

NAME = "tiny-model"
HELP = "write a random tiny UME model + processor (loads like a released checkpoint)"


def add_arguments(p):
    p.add_argument("out_dir")
    p.add_argument("--backbone", choices=["qwen2_vl", "qwen2_5_vl", "qwen3_vl"], default="qwen2_vl")
    p.add_argument("--tokenizer", choices=["qwen", "compact"], default="compact",
                   help="qwen: the backbone's real Qwen vocabulary (ids match released checkpoints); "
                        "compact: a small BPE for fast CPU training")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--hidden-size", type=int, default=64)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--heads", type=int, default=4)
    p.add_argument("--kv-heads", type=int, default=2)
    p.add_argument("--vision-depth", type=int, default=2)
    p.add_argument("--vision-dim", type=int, default=32)


def run(args) -> int:
    from umer1.engine.tiny import TinyModelOptions, write_tiny_model
    opts = TinyModelOptions(args.out_dir, backbone=args.backbone, tokenizer=args.tokenizer,
                            seed=args.seed, hidden_size=args.hidden_size, num_layers=args.layers,
                            num_heads=args.heads, num_kv_heads=args.kv_heads,
                            vision_depth=args.vision_depth, vision_dim=args.vision_dim)
    out = write_tiny_model(opts)
    print(f"wrote a tiny {opts.backbone} model ({opts.tokenizer} tokenizer) to {out}")
    return 0
