"""One evaluation run: every task in every requested mode, then the oracle and pass@k."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from umer1 import __version__
from umer1.engine.params import DEFAULT_MAX_NEW_TOKENS, MODES, EmbedSpec, GenParams, Mode
from umer1.eval import passk as passk_mod
from umer1.eval import report
from umer1.eval.loading import LoadedTasks, iter_tasks
from umer1.eval.readers import TaskData
from umer1.eval.routed import ROUTED, evaluate_routed_task
from umer1.eval.registry import TaskSpec
from umer1.eval.runner import embed_task, evaluate_task
from umer1.routing import parse_router
from umer1.store import Embedder
from umer1.utils.errors import InputError
from umer1.utils.files import write_json

log = logging.getLogger(__name__)


@dataclass
class EvalOptions:
    query_mode: str = "disc"          # "disc", "gen" or "both" (both: disc-disc and gen-gen)
    candidate_mode: str | None = None  # defaults to query_mode
    max_queries: int | None = None
    num_samples: int = 1              # K > 1: pass@k with K sampled gen query embeddings
    temperature: float = 1.0          # for the pass@k samples (evaluation itself is greedy)
    top_p: float = 1.0
    top_k: int = 0                    # 0 = off: never the checkpoint's generation_config top_k
    seed: int = 0
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS
    batch_size: int = 8
    flush_every: int = 64
    cache_dir: str | Path | None = None
    show_progress: bool = True
    router: str | None = None         # also a routed run (`umer1.routing.parse_router` spec)


def mode_pairs(query_mode: str, candidate_mode: str | None, spaces_aligned: bool
               ) -> list[tuple[Mode, Mode]]:
    """The (query, candidate) mode pairs to run; cross-mode only for aligned models."""
    candidate_mode = candidate_mode or query_mode
    for name, m in (("--query-mode", query_mode), ("--candidate-mode", candidate_mode)):
        if m not in MODES + ("both",):
            raise InputError(f"unknown mode {m!r}; expected disc, gen or both", field=name)
    if query_mode == "both" or candidate_mode == "both":
        if query_mode != candidate_mode:
            raise InputError("'both' runs disc-disc and gen-gen; it cannot be combined with a "
                             "different mode on the other side", field="--mode")
        return [(Mode.GEN, Mode.GEN), (Mode.DISC, Mode.DISC)]   # gen first: its prefill yields disc
    if query_mode != candidate_mode and not spaces_aligned:
        raise InputError(
            f"query mode {query_mode} differs from candidate mode {candidate_mode}, but this model's "
            "disc and gen spaces were not trained to be aligned (EmbeddingSettings.spaces_aligned is "
            "false), so cross-mode similarities are meaningless; use the same mode on both sides",
            field="--candidate-mode")
    return [(Mode(query_mode), Mode(candidate_mode))]


def model_meta(model, opts: EvalOptions, qm: Mode, cm: Mode) -> dict:
    cfg = model.hf_model.config
    return {"model": str(model.name), "model_name": str(model.name),
            "model_backbone": getattr(cfg, "model_type", None),
            "model_size": int(sum(p.numel() for p in model.model.parameters())),
            "embedding_dimension": int(model.hidden_size),
            "max_length_tokens": opts.max_new_tokens if Mode.GEN in (qm, cm) else None,
            "max_new_tokens": opts.max_new_tokens, "prompt_format": model.settings.prompt_format,
            "query_mode": str(qm), "candidate_mode": str(cm), "umer1_version": __version__}


def evaluate(model, tasks: LoadedTasks | Sequence[TaskSpec], data_root: str | Path,
             output: str | Path, opts: EvalOptions, state=None) -> dict:
    """Evaluate `model` on `tasks` (specs, or tasks already read); write every output under
    `output`; return the aggregates. Each task's files are read once."""
    specs = tasks.specs if isinstance(tasks, LoadedTasks) else list(tasks)
    pairs = mode_pairs(opts.query_mode, opts.candidate_mode, model.settings.spaces_aligned)
    if opts.num_samples > 1 and not any(q is Mode.GEN for q, _ in pairs):
        raise InputError("--num-samples (pass@k) samples generative query embeddings: use "
                         "--mode gen or both", field="--num-samples")
    if opts.num_samples > 1 and opts.temperature <= 0:
        raise InputError("pass@k needs --temperature > 0", field="--temperature")
    out = Path(output)
    if state is None or state.is_main_process:   # the resolved configuration, beside the outputs
        write_json(out / "run_config.json", {
            "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(opts).items()},
            "mode_pairs": [[str(q), str(c)] for q, c in pairs], "tasks": [s.name for s in specs], "data_root": str(data_root),
            "registry": sorted({s.source for s in specs}), "processes": state.num_processes if state else 1,
            **model_meta(model, opts, *pairs[0])})
    embedder = Embedder(model, opts.cache_dir or out / "cache", batch_size=opts.batch_size,
                        flush_every=opts.flush_every, show_progress=opts.show_progress, state=state)
    metas = {pair: model_meta(model, opts, *pair) for pair in pairs}
    results: dict[tuple[str, str], list] = {pair: [] for pair in pairs}
    router = parse_router(opts.router, embedder.fingerprint) if opts.router else None
    if router is not None:
        metas[ROUTED] = dict(model_meta(model, opts, Mode.GEN, Mode.GEN), query_mode=ROUTED,
                             candidate_mode=ROUTED, router=router.name)
        results[ROUTED] = []
    per_query_main: dict[str, dict[str, list[float]]] = {}
    curves: dict[str, dict] = {}
    # Task by task, every mode of a task in turn; a task's data is dropped once it is done.
    for spec, data in iter_tasks(tasks, data_root, opts.max_queries):
        for pair in pairs:
            r = evaluate_task(embedder, spec, data, _greedy(pair[0], opts), _greedy(pair[1], opts))
            if r is None:      # not the main process
                continue
            report.write_task(out / r.mode, r, metas[pair])
            if r.at_chance:
                report.loud_chance_warning(r)
            log.info("%s [%s]: %s = %.4f (%d queries)", spec.name, r.mode, spec.metric, r.main, r.num_pred)
            per_query_main.setdefault(spec.name, {})[r.mode] = [m[spec.metric] for m in r.per_query]
            r.per_query, r.data = [], None   # keep memory flat over a long run; files hold the details
            results[pair].append(r)
        if router is not None:
            r = evaluate_routed_task(embedder, spec, data, router, _greedy(Mode.GEN, opts).gen)
            if r is not None:
                report.write_task(out / ROUTED, r, metas[ROUTED])
                log.info("%s [routed %s]: %s = %.4f, %.0f%% reasoned", spec.name, router.name,
                         spec.metric, r.main, 100 * r.routing["fraction_reasoned"])
                r.per_query, r.data = [], None
                results[ROUTED].append(r)
        if opts.num_samples > 1:
            cm = next(c for q, c in pairs if q is Mode.GEN)
            curve = _passk(embedder, spec, data, opts, cm, out)
            if curve is not None:
                curves[spec.name] = curve
        del data
    summary: dict = {"modes": {}}
    if embedder.is_main:
        for pair in pairs:
            label = str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}-{pair[1]}"
            summary["modes"][label] = report.write_summary(out / label, results[pair], metas[pair])
        if router is not None:
            summary["modes"][ROUTED] = report.write_summary(out / ROUTED, results[ROUTED],
                                                            metas[ROUTED])
        if len(pairs) > 1:
            summary["oracle"] = _write_oracle(out, specs, per_query_main)
        if curves:
            K = opts.num_samples
            mean = {k: [float(np.mean([cur[k][i] for cur in curves.values()])) for i in range(K)]
                    for k in ("unbiased", "first_k")}
            write_json(out / "passk" / "passk.json", {"k": list(range(1, K + 1)), "mean": mean,
                                                      "tasks": curves, "estimator": "unbiased"})
            report.plot_passk(curves, out / "passk" / "passk.png")
            summary["passk"] = {"k": list(range(1, K + 1)), "mean": mean}
        write_json(out / "summary.json", summary)
    if state is not None:
        state.wait_for_everyone()
    return summary


def _greedy(mode: Mode, opts: EvalOptions) -> EmbedSpec:
    return EmbedSpec(mode, GenParams(max_new_tokens=opts.max_new_tokens))


def _write_oracle(out: Path, specs: Sequence[TaskSpec], per_query: dict) -> dict:
    """Per task: a query counts with its best mode's main-metric value (disc or gen)."""
    tasks = {s.name: passk_mod.oracle(per_query[s.name]) for s in specs if s.name in per_query}
    by_mod: dict[str, list[float]] = {}
    for s in specs:
        if s.name in tasks:
            by_mod.setdefault(s.modality, []).append(tasks[s.name])
    result = {"tasks": tasks, "modality": {m: float(np.mean(v)) for m, v in by_mod.items()},
              "overall": float(np.mean(list(tasks.values()))) if tasks else None,
              "rule": "per query, the larger of the disc and gen values of the task's main metric"}
    write_json(out / "oracle.json", result)
    return result


def _passk(embedder: Embedder, spec: TaskSpec, data: TaskData, opts: EvalOptions, cm: Mode,
           out: Path) -> dict | None:
    """K sampled gen embeddings per query against greedy candidates; the coverage curve."""
    K = opts.num_samples
    sampled = EmbedSpec(Mode.GEN, GenParams(max_new_tokens=opts.max_new_tokens, top_p=opts.top_p,
                                            top_k=opts.top_k, temperature=opts.temperature,
                                            num_samples=K, seed=opts.seed))
    q, c, _, _ = embed_task(embedder, spec, data, sampled, _greedy(cm, opts))
    if not embedder.is_main:
        return None
    correct = passk_mod.sample_correct(q.reshape(len(data.queries), K, -1), c, data.pools, data.labels)
    curve = passk_mod.coverage_curve(correct)
    write_json(out / "passk" / f"{spec.name}_passk.json",
               dict(curve, task=spec.name, temperature=opts.temperature, top_p=opts.top_p,
                    top_k=opts.top_k,
                    seed=opts.seed, candidate_mode=str(cm)))
    return curve
