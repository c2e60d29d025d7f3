"""`umer1 embed`: embed the rows of a JSONL file into a .npy array."""
from __future__ import annotations

NAME = "embed"
HELP = "embed JSONL inputs ({text, image, video}) with a UME model into an .npy file"


def add_arguments(p):
    p.add_argument("--model", required=True, help="model directory or hub id")
    p.add_argument("--mode", choices=["disc", "gen"], default="disc")
    p.add_argument("--input", required=True, help="JSONL: {\"text\", \"image\", \"video\"} per row")
    p.add_argument("--output", required=True, help=".npy: (N, D), or (N, K, D) with --num-samples K")
    p.add_argument("--texts", help="JSONL of generated texts (gen mode)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--max-new-tokens", type=int, default=8192)
    p.add_argument("--temperature", type=float, default=0.0, help="0 = greedy")
    p.add_argument("--top-p", type=float, default=1.0)
    p.add_argument("--num-samples", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dtype", default=None, help="float32, bfloat16, float16 or auto")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ...")
    p.add_argument("--attn-implementation", default=None, help="eager, sdpa, flash_attention_2")
    p.add_argument("--adapter", default=None, help="PEFT adapter directory")
    p.add_argument("--no-progress", action="store_true")


def run(args) -> int:
    import numpy as np

    from umer1.utils.errors import InputError
    from umer1.engine.inputs import read_embed_inputs
    from umer1.utils.files import atomic_path, write_jsonl
    from umer1.engine.model import UMEModel

    if args.texts and args.mode != "gen":
        raise InputError("--texts needs --mode gen", field="--texts")
    if not str(args.output).endswith(".npy"):
        raise InputError("the output must be a .npy file", field="--output")
    items = read_embed_inputs(args.input)   # every row and file checked before loading a model
    model = UMEModel.from_pretrained(args.model, dtype=args.dtype, device=args.device,
                                     attn_implementation=args.attn_implementation,
                                     adapter=args.adapter)
    common = dict(batch_size=args.batch_size, show_progress_bar=not args.no_progress)
    if args.mode == "disc":
        emb, rows = model.encode(items, mode="disc", **common), None
    else:
        g = model.generate(items, max_new_tokens=args.max_new_tokens, temperature=args.temperature,
                           top_p=args.top_p, num_samples=args.num_samples, seed=args.seed, **common)
        emb = g.embeddings
        rows = [{"index": i, "text": g.texts[i], "found": g.found[i].tolist(),
                 "num_tokens": g.num_tokens[i].tolist()} for i in range(len(items))]
    with atomic_path(args.output) as tmp, open(tmp, "wb") as fh:
        np.save(fh, emb)
    if args.texts:
        write_jsonl(args.texts, rows)
    print(f"wrote {emb.shape} {args.mode} embeddings to {args.output}")
    return 0
