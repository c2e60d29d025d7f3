"""`umer1 eval`: MMEB-V2-compatible evaluation of a UME model (several processes with accelerate)."""
from __future__ import annotations

NAME = "eval"
HELP = "evaluate a UME model on MMEB-V2-style tasks (scores, predictions, summaries, pass@k)"


def add_arguments(p):
    p.add_argument("--model", required=True, help="model directory or hub id")
    p.add_argument("--tasks", required=True,
                   help="task registry YAML, a directory with tasks.yaml, or a directory of *.jsonl tasks")
    p.add_argument("--output", required=True, help="output directory")
    p.add_argument("--mode", choices=["disc", "gen", "both"], default="disc",
                   help="embedding mode of queries AND candidates; both = disc, gen and the oracle")
    p.add_argument("--query-mode", choices=["disc", "gen"], help="overrides --mode for queries")
    p.add_argument("--candidate-mode", choices=["disc", "gen"], help="overrides --mode for candidates "
                   "(a mode differing from the query mode needs a model with spaces_aligned)")
    p.add_argument("--data-root", help="root of the task data (default: the registry's folder)")
    p.add_argument("--only", nargs="+", metavar="TASK", help="evaluate only these tasks")
    p.add_argument("--max-queries", type=int, help="the first N queries of each task (quick runs)")
    p.add_argument("--num-samples", type=int, default=1,
                   help="K > 1: pass@k curve from K sampled generative query embeddings")
    p.add_argument("--temperature", type=float, default=1.0, help="sampling temperature for pass@k")
    p.add_argument("--top-p", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-new-tokens", type=int, default=8192)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--flush-every", type=int, default=64,
                   help="inputs per process embedded between two cache writes")
    p.add_argument("--cache-dir", help="embedding cache (default OUTPUT/cache)")
    p.add_argument("--dtype", default=None, help="float32, bfloat16, float16 or auto")
    p.add_argument("--device", default=None, help="cpu, cuda ... (default: accelerate's device)")
    p.add_argument("--attn-implementation", default=None)
    p.add_argument("--adapter", default=None, help="PEFT adapter directory")
    p.add_argument("--no-progress", action="store_true")


def run(args) -> int:
    from umer1.utils.errors import InputError
    from umer1.eval.suite import EvalOptions, evaluate, mode_pairs
    from umer1.eval.tasks import load_task, resolve_tasks, select

    for name in ("max_queries", "num_samples", "batch_size", "flush_every", "max_new_tokens"):
        v = getattr(args, name)
        if v is not None and v < 1:
            raise InputError("must be at least 1", field="--" + name.replace("_", "-"))
    specs, root = resolve_tasks(args.tasks, args.data_root)
    specs = select(specs, args.only)
    qm = args.query_mode or args.mode
    cm = args.candidate_mode or args.mode
    for s in specs:                   # bad rows fail here, before a model is loaded
        load_task(s, root, args.max_queries)

    from accelerate import PartialState
    from umer1.engine.model import UMEModel
    state = PartialState()
    # accelerate picks each process's device; a lone CPU process leaves the model where it loads
    on_accel = state.num_processes > 1 or state.device.type != "cpu"
    device = args.device or (str(state.device) if on_accel else None)
    model = UMEModel.from_pretrained(args.model, dtype=args.dtype, device=device,
                                     attn_implementation=args.attn_implementation, adapter=args.adapter)
    mode_pairs(qm, cm, model.settings.spaces_aligned)   # refuse cross-mode early, with the reason
    opts = EvalOptions(query_mode=qm, candidate_mode=cm, max_queries=args.max_queries,
                       num_samples=args.num_samples, temperature=args.temperature, top_p=args.top_p,
                       seed=args.seed, max_new_tokens=args.max_new_tokens, batch_size=args.batch_size,
                       flush_every=args.flush_every, cache_dir=args.cache_dir,
                       show_progress=not args.no_progress)
    summary = evaluate(model, specs, root, args.output, opts,
                       state=state if state.num_processes > 1 else None)
    if state.is_main_process:
        for label, agg in summary["modes"].items():
            overall = agg["overall"]
            mods = ", ".join(f"{m} {100 * v:.1f}" for m, v in agg["modality"].items())
            print(f"[{label}] overall {100 * overall:.1f} over {agg['num_tasks']['overall']} tasks ({mods})"
                  if overall is not None else f"[{label}] no tasks")
        if "oracle" in summary and summary["oracle"]["overall"] is not None:
            print(f"[oracle disc-or-gen] overall {100 * summary['oracle']['overall']:.1f}")
        if summary.get("passk"):
            print(f"pass@k curves for {len(summary['passk'])} tasks in {args.output}/passk")
        print(f"outputs in {args.output}")
    return 0
