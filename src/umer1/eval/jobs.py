"""What `umer1 eval` and `umer1 data check` do, as library calls taking typed requests."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from umer1.engine.params import DEFAULT_MAX_NEW_TOKENS, GenParams
from umer1.eval.loading import LoadedTasks, check_presence
from umer1.eval.registry import resolve_tasks, select
from umer1.eval.suite import EvalOptions, evaluate, mode_pairs
from umer1.routing import parse_router
from umer1.utils.errors import InputError
from umer1.utils.files import check_writable, write_json


@dataclass
class EvalRequest:
    model: str
    tasks: str
    output: str
    mode: str = "disc"
    query_mode: str | None = None
    candidate_mode: str | None = None
    data_root: str | None = None
    only: list[str] | None = None
    max_queries: int | None = None
    num_samples: int = 1
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    seed: int = 0
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS
    batch_size: int = 8
    flush_every: int = 64
    cache_dir: str | None = None
    dtype: str | None = None
    device: str | None = None
    attn_implementation: str | None = None
    adapter: str | None = None
    show_progress: bool = True
    router: str | None = None


def run_eval(req: EvalRequest) -> str:
    """Read and check every task, load the model (one per accelerate process), evaluate; the
    console summary (empty on processes other than the main one)."""
    for name in ("max_queries", "num_samples", "batch_size", "flush_every", "max_new_tokens"):
        v = getattr(req, name)
        if v is not None and v < 1:
            raise InputError("must be at least 1", field="--" + name.replace("_", "-"))
    # the sampling values (used by pass@k only) are checked before any work, like the rest
    GenParams(max_new_tokens=req.max_new_tokens, temperature=req.temperature, top_p=req.top_p,
              top_k=req.top_k)
    if req.num_samples > 1 and req.temperature <= 0:
        raise InputError("pass@k needs --temperature > 0", field="--temperature")
    if req.router:
        parse_router(req.router)   # a bad spec or gate file fails before anything is read
    specs, root = resolve_tasks(req.tasks, req.data_root)
    tasks = LoadedTasks(select(specs, req.only), root, req.max_queries)  # bad rows fail here
    check_writable(Path(req.output) / "run_config.json", "--output")
    qm = req.query_mode or req.mode
    cm = req.candidate_mode or req.mode

    import torch
    from accelerate import PartialState

    from umer1.engine.model import UMEModel
    state = PartialState(cpu=not torch.cuda.is_available())   # gloo between CPU processes
    # accelerate picks each process's device; a lone CPU process leaves the model where it loads
    on_accel = state.num_processes > 1 or state.device.type != "cpu"
    device = req.device or (str(state.device) if on_accel else None)
    model = UMEModel.from_pretrained(req.model, dtype=req.dtype, device=device,
                                     attn_implementation=req.attn_implementation, adapter=req.adapter)
    mode_pairs(qm, cm, model.settings.spaces_aligned)   # refuse cross-mode early, with the reason
    opts = EvalOptions(query_mode=qm, candidate_mode=cm, max_queries=req.max_queries,
                       num_samples=req.num_samples, temperature=req.temperature, top_p=req.top_p,
                       top_k=req.top_k,
                       seed=req.seed, max_new_tokens=req.max_new_tokens, batch_size=req.batch_size,
                       flush_every=req.flush_every, cache_dir=req.cache_dir,
                       show_progress=req.show_progress, router=req.router)
    summary = evaluate(model, tasks, root, req.output, opts,
                       state=state if state.num_processes > 1 else None)
    return console_summary(summary, req.output) if state.is_main_process else ""


def console_summary(summary: dict, output: str | Path) -> str:
    lines = []
    for label, agg in summary["modes"].items():
        overall = agg["overall"]
        mods = ", ".join(f"{m} {100 * v:.1f}" for m, v in agg["modality"].items())
        lines.append(f"[{label}] overall {100 * overall:.1f} over {agg['num_tasks']['overall']} "
                     f"tasks ({mods})" if overall is not None else f"[{label}] no tasks")
        if "routing" in agg:
            c = agg["routing"]
            lines[-1] += (f"; {c['router']}: {100 * c['fraction_reasoned']:.0f}% reasoned, "
                          f"{c['tokens_per_query']:.1f} tokens/query, "
                          f"{1000 * c['seconds_per_query']:.0f} ms/query")
    if "oracle" in summary and summary["oracle"]["overall"] is not None:
        lines.append(f"[oracle disc-or-gen] overall {100 * summary['oracle']['overall']:.1f}")
    if summary.get("passk"):
        lines.append(f"pass@k curves in {output}/passk")
    lines.append(f"outputs in {output}")
    return "\n".join(lines)


@dataclass
class DataCheckRequest:
    tasks: str
    data_root: str | None = None
    only: list[str] | None = None
    deep: bool = False
    json_out: str | None = None


@dataclass
class DataCheckReport:
    text: str
    ok: bool
    tasks: dict = field(default_factory=dict)


def check_data(req: DataCheckRequest,
               hints: Callable[[str, Path], list[str]] | None = None) -> DataCheckReport:
    """Per task, whether its files are present and what is missing (also as JSON if asked).
    `hints(task name, data root)` adds, for a missing task, what would produce it (the CLI
    passes the MMEB-V2 converter's: missing sources and the command that fetches them)."""
    specs, root = resolve_tasks(req.tasks, req.data_root)
    specs = select(specs, req.only)
    report, lines = {}, []
    width = max(len(s.name) for s in specs)
    for s in specs:
        missing = check_presence(s, root, deep=req.deep)
        if missing and hints is not None:
            missing += hints(s.name, root)
        report[s.name] = {"present": not missing, "missing": missing, "modality": s.modality,
                          "layout": s.layout, "data": str(s.data_path(root))}
        status = "ok     " if not missing else "MISSING"
        lines.append(f"{status} {s.name:<{width}}  {s.modality}/{s.meta_task}" +
                     ("" if not missing else "  <- " + "; ".join(missing)))
    n_ok = sum(r["present"] for r in report.values())
    lines.append(f"{n_ok}/{len(report)} tasks present under {root}")
    if req.json_out:
        write_json(req.json_out, {"data_root": str(root), "tasks": report})
    return DataCheckReport("\n".join(lines), n_ok == len(report), report)
