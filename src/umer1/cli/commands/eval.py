"""`umer1 eval`: MMEB-V2-compatible evaluation of a UME model (several processes with accelerate)."""
from __future__ import annotations

from umer1.cli.commands._options import request
from umer1.engine.params import DEFAULT_MAX_NEW_TOKENS, MODES

NAME = "eval"
HELP = "evaluate a UME model on MMEB-V2-style tasks (scores, predictions, summaries, pass@k)"


def add_arguments(p):
    p.add_argument("--model", required=True, help="model directory or hub id")
    p.add_argument("--tasks", required=True,
                   help="task registry YAML, a directory with tasks.yaml, or a directory of *.jsonl tasks")
    p.add_argument("--output", required=True, help="output directory")
    p.add_argument("--mode", choices=["disc", "gen", "both"], default="disc",
                   help="embedding mode of queries AND candidates; both = disc, gen and the oracle")
    p.add_argument("--query-mode", choices=MODES, help="overrides --mode for queries")
    p.add_argument("--candidate-mode", choices=MODES, help="overrides --mode for candidates "
                   "(a mode differing from the query mode needs a model with spaces_aligned)")
    p.add_argument("--data-root", help="root of the task data (default: the registry's folder)")
    p.add_argument("--only", nargs="+", metavar="TASK", help="evaluate only these tasks")
    p.add_argument("--max-queries", type=int, help="the first N queries of each task (quick runs)")
    p.add_argument("--num-samples", type=int, default=1,
                   help="K > 1: pass@k curve from K sampled generative query embeddings")
    p.add_argument("--temperature", type=float, default=1.0, help="sampling temperature for pass@k")
    p.add_argument("--top-p", type=float, default=1.0, help="1 = off")
    p.add_argument("--top-k", type=int, default=0, help="0 = off (never the checkpoint's own)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-new-tokens", type=int, default=DEFAULT_MAX_NEW_TOKENS)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--flush-every", type=int, default=64,
                   help="inputs per process embedded between two cache writes")
    p.add_argument("--cache-dir", help="embedding cache (default OUTPUT/cache)")
    p.add_argument("--dtype", default=None, help="float32, bfloat16, float16 or auto")
    p.add_argument("--device", default=None, help="cpu, cuda ... (default: accelerate's device)")
    p.add_argument("--attn-implementation", default=None)
    p.add_argument("--adapter", default=None, help="PEFT adapter directory")
    p.add_argument("--router", default=None, metavar="SPEC",
                   help="also a routed run (mode label 'routed'): disc first, reasoning only for the "
                   "queries the router picks: rule:T (disc margin below T, T in [0, 1]), "
                   "gate:PATH[@T] (a gate file trained for this model), disc or gen")
    p.add_argument("--no-progress", dest="show_progress", action="store_false")


def run(args) -> int:
    from umer1.eval.jobs import EvalRequest, run_eval
    text = run_eval(request(EvalRequest, args))
    if text:      # only the main process reports
        print(text)
    return 0
