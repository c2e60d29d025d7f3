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


def _paths(output: str):
    from pathlib import Path
    out = Path(output)
    stem = out.name[:-len(".jsonl")] if out.name.endswith(".jsonl") else out.name
    return (out.with_name(out.name + ".journal"), out.with_name(stem + ".rejects.jsonl"),
            out.with_name(stem + ".summary.json"))


def _teacher(args, stop):
    import os

    from umer1.annotate.teachers import HFTeacher, OpenAITeacher, parse_teacher, split_openai
    from umer1.cli.commands._env import secret_from_env
    kind, rest = parse_teacher(args.teacher)
    if kind == "hf":
        return HFTeacher(rest, device=args.device, dtype=args.dtype, max_new_tokens=args.max_tokens,
                         temperature=args.temperature, seed=args.seed,
                         max_image_pixels=args.max_image_pixels)
    base, model = split_openai(rest)
    key = secret_from_env(args.api_key_env) if args.api_key_env else os.environ.get("OPENAI_API_KEY")
    return OpenAITeacher(base, model, api_key=key, timeout=args.timeout,
                         max_retries=args.max_retries, backoff_base=args.retry_base_delay,
                         max_tokens=args.max_tokens, temperature=args.temperature, seed=args.seed,
                         max_image_pixels=args.max_image_pixels, concurrency=args.concurrency,
                         stop=stop)


def run(args) -> int:
    import logging
    import sys
    import threading
    from pathlib import Path

    from umer1.annotate.filters import FilterConfig, Filters, load_encoder, tokenizer_encoder
    from umer1.annotate.journal import Journal
    from umer1.annotate.pairs import read_pairs
    from umer1.annotate.runner import Annotator, finalise
    from umer1.annotate.teachers import TeacherFatal
    from umer1.annotate.templates import Templates
    from umer1.utils.errors import InputError

    if not getattr(args, "verbose", False):   # one INFO line per request otherwise
        logging.getLogger("httpx").setLevel(logging.WARNING)
    if args.concurrency < 1:
        raise InputError("must be at least 1", field="--concurrency")
    if Path(args.output).resolve() == Path(args.input).resolve():
        raise InputError("the output would overwrite the input", field="--output")
    # Everything a user can get wrong is checked before the first request.
    image_root = Path(args.image_root) if args.image_root else Path(args.input).parent
    pairs = read_pairs(args.input, layout=args.format, image_root=image_root,
                       dataset_name=args.dataset_name)
    templates = Templates.load(args.template, args.target_template)
    journal_path, rejects, summary = _paths(args.output)
    if args.tokenizer == "teacher" and not args.teacher.startswith("hf:"):
        raise InputError("'teacher' needs an hf: teacher", field="--tokenizer")
    stop = threading.Event()
    teacher = _teacher(args, stop)
    encode = (tokenizer_encoder(teacher.tokenizer) if args.tokenizer == "teacher"
              else load_encoder(args.tokenizer))
    config = FilterConfig(max_reasoning_tokens=args.max_reasoning_tokens,
                          max_repeat_span=args.max_repeat_span)
    if args.restart and journal_path.exists():
        journal_path.unlink()
    journal = Journal(journal_path, {
        # the server's address may change between runs; the model and its sampling may not
        "teacher": {k: v for k, v in teacher.describe().items() if k != "url"},
        "templates": templates.digest(), "filters": config.as_dict(),
        "tokenizer": args.tokenizer, "seed": args.seed, "video_frames": args.video_frames,
        "max_image_pixels": args.max_image_pixels})
    annotator = Annotator(teacher, templates, Filters(config, encode), journal, image_root,
                          concurrency=args.concurrency, video_frames=args.video_frames,
                          retry_errors=args.retry_errors, show_progress=not args.no_progress,
                          stop=stop)
    try:
        stats = annotator.run(pairs)
    except TeacherFatal as exc:
        print(f"error: {' '.join(str(exc).split())}; finished sides are kept in {journal_path}, "
              "run the same command again to resume", file=sys.stderr)
        return 1
    finally:
        teacher.close()
        journal.close()
    result = finalise(pairs, journal, args.output, rejects=rejects, summary=summary,
                      extra={"teacher": teacher.describe(), "input": str(args.input),
                             "this_run": {"sides_asked": stats.asked,
                                          "sides_already_done": stats.already_done,
                                          "elapsed_s": round(stats.elapsed_s, 3)}})
    print(f"wrote {result['pairs_written']} of {result['pairs']} pairs to {args.output} "
          f"(filtered {sum(result['filtered'].values())} sides, errors {sum(result['errors'].values())}, "
          f"{result['requests']} requests); summary in {summary}")
    return 0
