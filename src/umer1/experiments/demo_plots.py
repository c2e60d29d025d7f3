"""The demo report's plots, drawn from the run's own files and scores (through `umer1.utils.plots`)."""
from __future__ import annotations

from pathlib import Path

from umer1.utils.plots import pyplot as _plt
from umer1.utils.plots import read_metrics, save_png


def _save(fig, path: Path) -> str:
    return save_png(fig, path, dpi=90).name


def _rows(path: str | None) -> list[dict]:
    return read_metrics(path) if path and Path(path).is_file() else []


def _smooth(values: list[float], width: int) -> list[float]:
    out, acc = [], []
    for v in values:
        acc.append(v)
        if len(acc) > width:
            acc.pop(0)
        out.append(sum(acc) / len(acc))
    return out


def plot_losses(metrics: list[str], path: Path) -> str:
    """con_gen beside con_disc (the two contrastive terms), and the next-token terms."""
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for run, m in enumerate(metrics):
        rows = _rows(m)
        for ax, terms in zip(axes, (("con_gen", "con_disc"), ("ntp_query", "ntp_target"))):
            for term, style in zip(terms, ("-", "--")):
                pts = [(r["step"], r[term]) for r in rows if r.get(term) is not None]
                if pts:
                    x, y = zip(*pts)
                    ax.plot(x, _smooth(list(y), 25), style, label=f"{term}" + (f" (seed run {run})" if run else ""),
                            alpha=0.9 if run == 0 else 0.4)
    axes[0].set(xlabel="SFT step", ylabel="InfoNCE (25-step mean)", title="Contrastive terms: gen vs disc")
    axes[1].set(xlabel="SFT step", ylabel="nats per token (25-step mean)", title="Next-token terms")
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    return _save(fig, path)


def plot_rl(metrics: list[str], path: Path) -> str | None:
    runs = [_rows(m) for m in metrics]
    if not any(runs):
        return None
    plt = _plt()
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
    for run, rows in enumerate(runs):
        for ax, key in zip(axes, ("reward", "format_rate", "zero_spread_groups")):
            pts = [(r["step"], r[key]) for r in rows if r.get(key) is not None]
            if pts:
                ax.plot(*zip(*pts), marker="o" if len(pts) < 30 else None, alpha=1 if run == 0 else 0.4)
    for ax, title in zip(axes, ("reward (format + rank x gap)", "format rate",
                                "groups with zero reward spread (no gradient)")):
        ax.set(xlabel="RL step", title=title)
        ax.grid(alpha=0.3)
    return _save(fig, path)


def plot_hit1(table: dict, path: Path) -> str:
    """Hit@1 per task: disc, gen (own trace), gen after the gold trace; chance dashed."""
    plt = _plt()
    names = list(table)
    keys = [("disc", "disc"), ("gen", "gen (own trace)"), ("gold", "gen (gold trace)")]
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.8 / len(keys)
    for i, (key, label) in enumerate(keys):
        ax.bar([x + i * width for x in range(len(names))], [100 * table[n][key] for n in names],
               width, yerr=[100 * table[n][key + "_se"] for n in names], capsize=2, label=label)
    for x, n in enumerate(names):
        ax.hlines(100 * table[n]["chance"], x - width / 2, x + 0.8 - width / 2, colors="black",
                  linestyles="dashed", label="chance" if x == 0 else None)
    ax.set_xticks([x + 0.4 - width / 2 for x in range(len(names))], names)
    ax.set(ylabel="Hit@1 (%)", title="Held-out Hit@1 of the final model (error bars: 1 s.e.)")
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_passk(curves: dict, path: Path) -> str | None:
    """pass@k per task with one-standard-error bands and the chance line of k random rankings."""
    if not curves:
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(6, 4))
    for i, (name, c) in enumerate(curves.items()):
        colour = f"C{i}"
        y = [100 * v for v in c["passk"]]
        se = [100 * v for v in c["se"]]
        ax.plot(c["k"], y, color=colour, marker="o", label=name)
        ax.fill_between(c["k"], [a - b for a, b in zip(y, se)], [a + b for a, b in zip(y, se)],
                        color=colour, alpha=0.15)
        ax.plot(c["k"], [100 * v for v in c["chance"]], color=colour, linestyle=":", alpha=0.7)
        ax.axhline(100 * c["oracle"], color=colour, linestyle="--", alpha=0.5)
    ax.set(xlabel="k (sampled gen embeddings per query)", ylabel="pass@k (%)",
           title="pass@k (dotted: chance; dashed: disc-or-gen oracle)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)
