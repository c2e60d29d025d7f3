"""`umer1 annotate`: retrieval pairs -> SFT records with teacher-written reasoning (resumable)."""
from __future__ import annotations

NAME = "annotate"
HELP = ("write reasoning + summary for both sides of retrieval pairs with a teacher model, "
        "filter, and save UME-sft-train records (kill-safe, resumable)")


def add_arguments(p):
    p.add_argument("--teacher", required=True,
                   help="openai:BASE_URL/MODEL (an OpenAI-compatible chat server, e.g. "
                        "openai:http://127.0.0.1:8000/v1/MODEL) or hf:DIR (a local chat model)")
    p.add_argument("--input", required=True, help="JSONL pairs (MMEB-train, UME-rl-train or umer1 layout)")
    p.add_argument("--output", required=True, help="SFT JSONL to write (UME-sft-train format)")
    p.add_argument("--format", default="auto", choices=["auto", "mmeb", "rl", "umer1"],
                   help="input layout (default: detected per row)")
    p.add_argument("--image-root", default=None, help="folder image paths are relative to "
                   "(default: the input file's folder)")
    p.add_argument("--dataset-name", default=None,
                   help="dataset_name for rows without one (default: the input file name)")
    p.add_argument("--concurrency", type=int, default=8, help="requests in flight at once")
    p.add_argument("--api-key-env", default=None,
                   help="environment variable holding the API key (default: OPENAI_API_KEY if set)")
    p.add_argument("--template", default=None, help="teacher prompt template file (both sides); "
                   "placeholders {text}, {visuals}, {role}")
    p.add_argument("--target-template", default=None, help="template for the target side only")
    p.add_argument("--max-reasoning-tokens", type=int, default=8192)
    p.add_argument("--max-repeat-span", type=int, default=64,
                   help="drop outputs with a repeating stretch of this many tokens")
    p.add_argument("--tokenizer", default="qwen",
                   help="tokens for the filters: 'qwen' (Qwen2-VL, built offline), 'teacher' "
                        "(an hf: teacher's own) or a tokenizer directory")
    p.add_argument("--max-tokens", type=int, default=9216, help="teacher completion cap")
    p.add_argument("--temperature", type=float, default=0.0)
    p.add_argument("--seed", type=int, default=0, help="per-item request seeds and backoff jitter")
    p.add_argument("--timeout", type=float, default=300.0, help="seconds per request")
    p.add_argument("--max-retries", type=int, default=6)
    p.add_argument("--retry-base-delay", type=float, default=1.0,
                   help="first backoff in seconds; doubles per retry (with jitter), capped at 60")
    p.add_argument("--video-frames", type=int, default=8, help="frames sent per video")
    p.add_argument("--max-image-pixels", type=int, default=2_359_296,
                   help="larger images are downscaled before sending")
    p.add_argument("--device", default=None, help="hf: teacher device")
    p.add_argument("--dtype", default=None, help="hf: teacher dtype (bfloat16, float16, float32)")
    p.add_argument("--retry-errors", action="store_true",
                   help="also retry sides that failed permanently in an earlier run")
    p.add_argument("--restart", action="store_true", help="discard the journal of an earlier run")
    p.add_argument("--no-progress", action="store_true")


def run(args) -> int:
    import logging
    import os
    import sys

    from umer1.annotate.filters import FilterConfig
    from umer1.annotate.job import AnnotateOptions, OutputPaths, annotate_file
    from umer1.annotate.teachers import TeacherFatal
    from umer1.cli.commands._env import secret_from_env
    from umer1.engine.params import GenParams

    if not getattr(args, "verbose", False):   # one INFO line per request otherwise
        logging.getLogger("httpx").setLevel(logging.WARNING)
    key = secret_from_env(args.api_key_env) if args.api_key_env else os.environ.get("OPENAI_API_KEY")
    opts = AnnotateOptions(
        teacher=args.teacher, input=args.input, output=args.output, layout=args.format,
        image_root=args.image_root, dataset_name=args.dataset_name, concurrency=args.concurrency,
        api_key=key, template=args.template, target_template=args.target_template,
        filters=FilterConfig(max_reasoning_tokens=args.max_reasoning_tokens,
                             max_repeat_span=args.max_repeat_span),
        tokenizer=args.tokenizer,
        gen=GenParams(max_new_tokens=args.max_tokens, temperature=args.temperature),
        seed=args.seed, timeout=args.timeout, max_retries=args.max_retries,
        retry_base_delay=args.retry_base_delay, video_frames=args.video_frames,
        max_image_pixels=args.max_image_pixels, device=args.device, dtype=args.dtype,
        retry_errors=args.retry_errors, restart=args.restart, show_progress=not args.no_progress)
    try:
        result = annotate_file(opts)
    except TeacherFatal as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {result['pairs_written']} of {result['pairs']} pairs to {args.output} "
          f"(filtered {sum(result['filtered'].values())} sides, errors "
          f"{sum(result['errors'].values())}, {result['requests']} requests); summary in "
          f"{OutputPaths.of(args.output).summary}")
    return 0
