"""Cost-quality study of per-query routing between disc and gen (`umer1 routing-study`).

On the synthetic held-out tasks, with a tiny model trained here (or one given by `model`):
1. the corpus is embedded once, offline, in the modes routing needs (`corpus_modes`);
2. every query is embedded in gen mode at the full budget (its greedy prefill gives its disc
   embedding too), and again at each smaller reasoning budget (`budgets`);
3. per query: the main metric in each mode, the disc score statistics, the tokens generated;
4. the queries of each task are split in two (seeded): the learned gate is trained on the
   calibration half (label: gen ranked the positive higher than disc), every curve is measured
   on the test half: metric against fraction reasoned and against generated tokens, for the
   margin rule, the gate, a random router (the straight line), the oracle, and the always-disc
   / always-gen ends; bootstrap standard errors (seeded) at every tenth of the queries.
Writes results.json, gate.json (usable with `umer1 eval --router gate:...` on that model),
report.md and two plots.
"""
from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from umer1.utils.errors import InputError
from umer1.utils.files import atomic_path, write_json

GRID = np.linspace(0, 1, 11)   # fractions reasoned at which standard errors are reported


@dataclass
class RoutingStudyConfig:
    seed: int = 0
    model: str = ""                # a UME model folder; empty: train a tiny one here
    tasks: list[str] = field(default_factory=lambda: ["t2i", "i2t", "cls", "vqa"])
    train: int = 4096              # SFT pairs
    eval: int = 64                 # held-out queries per task: half calibration, half test
    candidates: int = 8
    steps: int = 600               # SFT steps
    batch_size: int = 16
    lr: float = 2.0e-3
    hidden_size: int = 64
    num_layers: int = 2
    vision_dim: int = 64
    max_new_tokens: int = 64       # the full reasoning budget (corpus and queries)
    budgets: list[int] = field(default_factory=lambda: [2, 4, 8, 16, 32])  # smaller query budgets
    gate_hidden: int = 0           # 0: logistic regression
    gate_steps: int = 300
    bootstrap: int = 1000
    threads: int = 1               # torch threads; one is fastest for tiny models

    def check(self) -> None:
        """Refuse a bad setting before minutes of training."""
        if self.eval < 2:
            raise InputError("needs at least 2 held-out queries per task (half calibrate the gate)",
                             field="eval")
        if self.max_new_tokens < 1:
            raise InputError("must be at least 1", field="max_new_tokens")
        for b in self.budgets:
            if not isinstance(b, int) or not 1 <= b < self.max_new_tokens:
                raise InputError(f"every budget must be an integer in [1, max_new_tokens), got {b!r}",
                                 field="budgets")
        if self.model and not Path(self.model).is_dir():
            raise InputError("no such model folder", file=self.model, field="model")


def synthetic_data(out: Path, cfg: RoutingStudyConfig) -> tuple[Path, Path]:
    """(SFT records, evaluation registry): the one place the synthetic generator is called."""
    from umer1.experiments.synthetic import generate_dataset
    paths = generate_dataset(out, seed=cfg.seed, train=cfg.train, rl=0, eval=cfg.eval,
                             candidates=cfg.candidates, tasks=tuple(cfg.tasks), overwrite=True)
    return paths.sft, paths.tasks


def run_routing_study(out_dir: str | Path, cfg: RoutingStudyConfig | None = None) -> dict:
    """Train (or take) the model, measure, write the outputs; the results."""
    from umer1.engine.fingerprint import model_fingerprint
    from umer1.engine.model import UMEModel
    from umer1.routing import GateConfig, fit_gate, gate_features
    cfg = cfg or RoutingStudyConfig()
    cfg.check()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    out = Path(out_dir)
    t0 = time.perf_counter()
    sft, tasks_file = synthetic_data(out / "data", cfg)
    model_dir = Path(cfg.model) if cfg.model else _train(out, sft, cfg)
    model = UMEModel.from_pretrained(model_dir)
    q = measure(model, tasks_file, cfg, out / "cache")
    calib = _split(q["task"], cfg.seed)
    gate = fit_gate(gate_features(q["disc_emb"][calib], q["stats"][calib]),
                    q["gen_better"][calib], model_fingerprint(model),
                    GateConfig(hidden=cfg.gate_hidden, steps=cfg.gate_steps, seed=cfg.seed))
    gate.save(out / "gate.json")
    test = ~calib
    results = {"config": asdict(cfg), "model": str(model_dir), "queries": int(test.sum()),
               "calibration_queries": int(calib.sum()),
               "gate_positive_rate": gate.positive_rate,
               "spaces_aligned": model.settings.spaces_aligned,
               **study_curves(q, test, gate, cfg), "budgets": _budget_table(q, test, cfg),
               "seconds_per_query": q["seconds"]}
    results["seconds"] = round(time.perf_counter() - t0, 1)
    write_json(out / "results.json", results)
    plot(results, out)
    with atomic_path(out / "report.md") as tmp:
        tmp.write_text(report_markdown(results), encoding="utf-8")
    return results


def _train(out: Path, sft: Path, cfg: RoutingStudyConfig) -> Path:
    from umer1.experiments.alignment import make_base_model, train_variant
    base = make_base_model(out / "base", sft, cfg)
    return train_variant(out / "model", base, sft, 0.0, cfg)   # the reference recipe


@torch.no_grad()
def measure(model, tasks_file: Path, cfg: RoutingStudyConfig, cache: Path) -> dict:
    """Per held-out query: metric in each mode (and at each budget), disc statistics, tokens.
    The corpus goes through the embedding cache (each distinct candidate embedded once)."""
    from umer1.engine.params import EmbedSpec, GenParams, Mode
    from umer1.store import Embedder
    from umer1.eval import load_task, query_metrics, rank, resolve_tasks
    from umer1.routing import corpus_modes, score_stats
    specs, root = resolve_tasks(tasks_file)
    cols: dict[str, list] = {k: [] for k in ("task", "disc", "gen", "gen_better", "tokens", "found",
                                             "stats", "disc_emb")}
    budget_cols = {b: {"metric": [], "tokens": [], "found": []} for b in cfg.budgets}
    seconds = {"disc": 0.0, "gen": 0.0}
    bs = cfg.batch_size
    embedder = Embedder(model, cache, batch_size=bs, show_progress=False)
    full = GenParams(max_new_tokens=cfg.max_new_tokens)
    for spec in specs:
        data = load_task(spec, root)
        modes = corpus_modes(model.settings)
        corpus = {m: embedder.embed(data.candidates, EmbedSpec(m, full))[0] for m in modes}
        gen_corpus = corpus[modes[-1]]
        t = time.perf_counter()
        model.encode(data.queries, mode="disc", batch_size=bs)   # timed: what disc costs alone
        seconds["disc"] += time.perf_counter() - t
        t = time.perf_counter()
        g = model.generate(data.queries, batch_size=bs, max_new_tokens=cfg.max_new_tokens)
        seconds["gen"] += time.perf_counter() - t

        def outcome(emb, c):
            preds, scores = rank(emb, c, data.pools, data.labels)
            metric = [query_metrics(p, lab, graded=data.graded)[spec.metric]
                      for p, lab in zip(preds, data.labels)]
            first = [next((r for r, j in enumerate(p) if j in lab), len(p)) for p, lab in
                     zip(preds, data.labels)]
            return np.array(metric), np.array(first), scores
        d_metric, d_rank, d_scores = outcome(g.disc_embeddings, corpus[Mode.DISC])
        g_metric, g_rank, _ = outcome(g.embeddings, gen_corpus)
        cols["task"] += [spec.name] * len(data.queries)
        cols["disc"].append(d_metric)
        cols["gen"].append(g_metric)
        cols["gen_better"].append(g_rank < d_rank)
        cols["tokens"].append(g.num_tokens)
        cols["found"].append(g.found)
        cols["stats"].append(score_stats(d_scores))
        cols["disc_emb"].append(g.disc_embeddings)
        for b in cfg.budgets:
            gb = model.generate(data.queries, batch_size=bs, max_new_tokens=b)
            budget_cols[b]["metric"].append(outcome(gb.embeddings, gen_corpus)[0])
            budget_cols[b]["tokens"].append(gb.num_tokens)
            budget_cols[b]["found"].append(gb.found)
    n = len(cols["task"])
    q = {k: (np.array(v) if k == "task" else np.concatenate(v)) for k, v in cols.items()}
    q["budgets"] = {b: {k: np.concatenate(v) for k, v in c.items()} for b, c in budget_cols.items()}
    q["seconds"] = {m: s / max(n, 1) for m, s in seconds.items()}
    return q


def _split(tasks: np.ndarray, seed: int) -> np.ndarray:
    """Calibration mask: half of each task's queries, drawn with the seed."""
    rng = np.random.default_rng(seed)
    calib = np.zeros(len(tasks), bool)
    for t in sorted(set(tasks)):
        idx = np.flatnonzero(tasks == t)
        calib[rng.permutation(idx)[:len(idx) // 2]] = True
    return calib


def study_curves(q: dict, test: np.ndarray, gate, cfg: RoutingStudyConfig) -> dict:
    """Every curve on the test queries, their standard errors and where each reaches gen."""
    from umer1.routing import (MarginRule, bootstrap_se, curve, first_reaching, gate_features,
                               oracle_curve, order_by)
    disc, gen, tok = q["disc"][test], q["gen"][test], q["tokens"][test]
    stats, emb = q["stats"][test], q["disc_emb"][test]
    n = len(disc)
    priorities = {"margin rule": MarginRule(0.0).priority(stats),
                  "learned gate": gate.probability(gate_features(emb, stats))}
    ks = np.round(GRID * n).astype(int)
    curves, reach = {}, {}
    always_gen = float(gen.mean())
    for name, p in priorities.items():
        order = order_by(p)
        c = curve(order, disc, gen, tok)
        # the same resamples for every router (one seed), so their errors are comparable
        c["se_at_grid"] = bootstrap_se(order, disc, gen, ks, cfg.bootstrap, cfg.seed).tolist()
        c["metric_at_grid"] = [c["metric"][k] for k in ks]
        curves[name] = c
        reach[name] = first_reaching(c, always_gen)
    margins = np.sort(stats[:, 1])
    rule_k = None if reach["margin rule"] is None else round(reach["margin rule"] * n)
    oracle = oracle_curve(disc, gen, tok)
    reach["oracle"] = first_reaching(oracle, always_gen)
    return {"curves": curves, "oracle": oracle, "grid": GRID.tolist(),
            "always_disc": {"metric": float(disc.mean()), "tokens_per_query": 0.0},
            "always_gen": {"metric": always_gen, "tokens_per_query": float(tok.mean()),
                           "found_rate": float(q["found"][test].mean())},
            "se_ends": bootstrap_se(np.arange(n), disc, gen, np.array([0, n]), cfg.bootstrap,
                                    cfg.seed).tolist(),
            "reach_gen": reach,
            # rule:T with T just above the margin of the last query routed reproduces that point
            "rule_threshold_at_reach": (None if not rule_k else float(margins[rule_k - 1]))}


def _budget_table(q: dict, test: np.ndarray, cfg: RoutingStudyConfig) -> list[dict]:
    rows = [{"max_new_tokens": b, "metric": float(c["metric"][test].mean()),
             "tokens_per_query": float(c["tokens"][test].mean()),
             "found_rate": float(c["found"][test].mean())} for b, c in sorted(q["budgets"].items())]
    rows.append({"max_new_tokens": cfg.max_new_tokens, "metric": float(q["gen"][test].mean()),
                 "tokens_per_query": float(q["tokens"][test].mean()),
                 "found_rate": float(q["found"][test].mean())})
    return rows


def plot(r: dict, out: Path) -> None:
    from umer1.utils.plots import png
    for x, name, label in (("fraction", "curves_fraction.png", "fraction of queries reasoned"),
                           ("tokens_per_query", "curves_tokens.png", "generated tokens per query")):
        with png(out / name, (6.5, 4.5)) as (fig, ax):
            for cname, c in r["curves"].items():
                ax.plot(c[x], [100 * m for m in c["metric"]], label=cname)
                if x == "fraction":
                    ax.errorbar(r["grid"], [100 * m for m in c["metric_at_grid"]],
                                yerr=[100 * s for s in c["se_at_grid"]], fmt="none", capsize=2,
                                color=ax.lines[-1].get_color())
            ax.plot(r["oracle"][x], [100 * m for m in r["oracle"]["metric"]], "k:", label="oracle")
            ends = [r["always_disc"], r["always_gen"]]
            ax.plot([e[x] if x != "fraction" else f for e, f in zip(ends, (0, 1))],
                    [100 * e["metric"] for e in ends], color="grey", lw=0.8, ls="--",
                    label="random router (expected)")
            for e, f, lab, mk in ((ends[0], 0, "always-disc", "s"), (ends[1], 1, "always-gen", "D")):
                ax.plot(e[x] if x != "fraction" else f, 100 * e["metric"], mk, ms=7, label=lab)
            if x == "tokens_per_query":
                ax.plot([b["tokens_per_query"] for b in r["budgets"]],
                        [100 * b["metric"] for b in r["budgets"]], "^-", lw=0.8,
                        label="always-gen, budget max_new_tokens")
            ax.set(xlabel=label, ylabel="held-out main metric x 100 (test half)")
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)


def report_markdown(r: dict) -> str:
    pct = lambda x: f"{100 * x:.1f}"  # noqa: E731
    c = r["config"]
    d, g = r["always_disc"], r["always_gen"]
    lines = [
        "# Routing between disc and gen: cost against quality", "",
        f"Model: {'`' + c['model'] + '`' if c['model'] else 'a tiny model trained here'} "
        f"({'the reference recipe, ' + str(c['steps']) + ' SFT steps on ' + str(c['train']) + ' synthetic pairs' if not c['model'] else 'given'}"
        f", seed {c['seed']}). {r['calibration_queries']} held-out queries train the gate, "
        f"{r['queries']} others measure; main metric (Hit@1) x 100, standard errors from "
        f"{c['bootstrap']} bootstrap resamples of the test queries. Full budget "
        f"{c['max_new_tokens']} new tokens.", "",
        "![metric against fraction reasoned](curves_fraction.png)",
        "![metric against generated tokens](curves_tokens.png)", "",
        "| fraction reasoned | " + " | ".join(r["curves"]) + " | oracle | random (expected) |",
        "|---|" + "---|" * (len(r["curves"]) + 2)]
    n = r["queries"]
    for i, f in enumerate(r["grid"]):
        k = round(f * n)
        cells = [f"{pct(cv['metric_at_grid'][i])} ± {pct(cv['se_at_grid'][i])}" for cv in r["curves"].values()]
        rand = d["metric"] + f * (g["metric"] - d["metric"])
        lines.append(f"| {f:.1f} | " + " | ".join(cells) + f" | {pct(r['oracle']['metric'][k])} | {pct(rand)} |")
    o = r["oracle"]["point"]
    lines += ["", f"- Always-disc: {pct(d['metric'])} ± {pct(r['se_ends'][0])}, no generated tokens; "
              f"always-gen: {pct(g['metric'])} ± {pct(r['se_ends'][1])}, {g['tokens_per_query']:.1f} "
              f"generated tokens per query (`<gen_emb>` written within the budget by "
              f"{pct(g['found_rate'])}% of queries).",
              f"- Oracle (gen only where it is strictly better): {pct(o['metric'])} reasoning for "
              f"{pct(o['fraction'])}% of queries."]
    for name, f in r["reach_gen"].items():
        lines.append(f"- {name}: " + (f"reaches the always-gen quality at {pct(f)}% of queries "
                                      "reasoned" if f is not None else "does not reach the "
                                      "always-gen quality at any fraction") + ".")
    if r["rule_threshold_at_reach"] is not None:
        lines.append(f"- The margin rule's point is `--router rule:T` with T just above "
                     f"{r['rule_threshold_at_reach']:.4f} on this model.")
    lines += _verdict(r)
    s = r["seconds_per_query"]
    lines += ["", "## Reasoning budget (always-gen, query side; corpus at the full budget)", "",
              "| max_new_tokens | metric | generated tokens per query | `<gen_emb>` written |",
              "|---|---|---|---|"]
    lines += [f"| {b['max_new_tokens']} | {pct(b['metric'])} | {b['tokens_per_query']:.1f} | "
              f"{pct(b['found_rate'])}% |" for b in r["budgets"]]
    lines += ["", "When the budget cuts a trace, `<gen_emb>` is forced as its last token and the "
              "embedding read there.", "",
              f"Measured time per query (batches of {c['batch_size']}, {c['threads']} torch thread): "
              f"disc {1000 * s['disc']:.1f} ms, gen {1000 * s['gen']:.1f} ms; a router reasoning for "
              f"a fraction f of the queries costs about disc + f x gen. Total run time "
              f"{r['seconds']:.0f} s."]
    return "\n".join(lines) + "\n"


def _verdict(r: dict) -> list[str]:
    """Plain statements of what the curves show, including when the gate does not help."""
    rule, gate = r["curves"]["margin rule"], r["curves"]["learned gate"]
    area = {k: float(np.mean(v["metric"])) for k, v in r["curves"].items()}
    rand = (r["always_disc"]["metric"] + r["always_gen"]["metric"]) / 2
    lines = [f"- Mean metric over all fractions (area under the curve): margin rule "
             f"{100 * area['margin rule']:.1f}, learned gate {100 * area['learned gate']:.1f}, random "
             f"{100 * rand:.1f}."]
    d, g = r["always_disc"]["metric"], r["always_gen"]["metric"]
    if d >= g:
        lines.append(f"- Always-disc ({100 * d:.1f}) is already at or above always-gen ({100 * g:.1f}) "
                     "on this model, so reaching the always-gen quality is trivial; what matters is "
                     "whether a router lifts the metric above always-disc.")
    for name, c in r["curves"].items():
        k = int(np.argmax(c["metric"][1:])) + 1
        best, frac = c["metric"][k], c["fraction"][k]
        lines.append(f"- {name}: its best point is {100 * best:.1f} at {100 * frac:.1f}% reasoned, "
                     + (f"{100 * (best - d):+.1f} points over always-disc (whose standard error is "
                        f"{100 * r['se_ends'][0]:.1f})." if best > d else
                        "no better than always-disc: it never pays to reason with this router."))
    diff = [a - b for a, b in zip(gate["metric_at_grid"], rule["metric_at_grid"])]
    se = max(max(gate["se_at_grid"]), max(rule["se_at_grid"]))
    if max(abs(x) for x in diff) <= se:
        lines.append("- The learned gate and the margin rule are within one standard error of "
                     "each other at every tenth: on this data the gate does not beat the rule.")
    elif area["learned gate"] > area["margin rule"]:
        lines.append("- The learned gate lies above the margin rule on average.")
    else:
        lines.append("- The learned gate lies below the simple margin rule on average: the rule "
                     "is the better router here.")
    return lines
