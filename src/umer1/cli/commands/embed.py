"""`umer1 embed`: embed the rows of a JSONL file into a .npy array."""
from __future__ import annotations

NAME = "embed"
HELP = "embed JSONL inputs ({text, image, video}) with a UME model into an .npy file"


def add_arguments(p):
    from umer1.engine.params import DEFAULT_MAX_NEW_TOKENS, MODES
    p.add_argument("--model", required=True, help="model directory or hub id")
    p.add_argument("--mode", choices=MODES, default="disc")
    p.add_argument("--input", required=True, help="JSONL: {\"text\", \"image\", \"video\"} per row")
    p.add_argument("--output", required=True, help=".npy: (N, D), or (N, K, D) with --num-samples K")
    p.add_argument("--texts", help="JSONL of generated texts (gen mode)")
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--max-new-tokens", type=int, default=DEFAULT_MAX_NEW_TOKENS)
    p.add_argument("--temperature", type=float, default=0.0, help="0 = greedy")
    p.add_argument("--top-p", type=float, default=1.0, help="1 = off")
    p.add_argument("--top-k", type=int, default=0, help="0 = off (never the checkpoint's own)")
    p.add_argument("--num-samples", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dtype", default=None, help="float32, bfloat16, float16 or auto")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ...")
    p.add_argument("--attn-implementation", default=None, help="eager, sdpa, flash_attention_2")
    p.add_argument("--adapter", default=None, help="PEFT adapter directory")
    p.add_argument("--no-progress", action="store_true")


def run(args) -> int:
    from umer1.engine.embed_file import EmbedFileOptions, embed_file
    from umer1.engine.params import GenParams

    opts = EmbedFileOptions(
        model=args.model, input=args.input, output=args.output, mode=args.mode, texts=args.texts,
        batch_size=args.batch_size,
        gen=GenParams(max_new_tokens=args.max_new_tokens, temperature=args.temperature,
                      top_p=args.top_p, top_k=args.top_k, num_samples=args.num_samples,
                      seed=args.seed),
        dtype=args.dtype, device=args.device, attn_implementation=args.attn_implementation,
        adapter=args.adapter, show_progress=not args.no_progress)
    result = embed_file(opts)
    print(f"wrote {result.shape} {result.mode} embeddings to {result.output}")
    return 0
