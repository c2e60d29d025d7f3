"""The one plotting module: PNG figures written atomically with no display (`png`), and the
plots shared by training runs (`metrics.jsonl` series), evaluation and the demo's report."""
from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Sequence

from umer1.utils.files import atomic_path


def read_metrics(path: str | Path) -> list[dict]:
    """The rows of a metrics JSONL file; a last line cut by a kill is skipped."""
    rows = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def plot_metrics(metrics_path: str | Path, out_path: str | Path, keys: Sequence[str], *,
                 panels: bool = False, title: str = "", ylabel: str = "") -> Path | None:
    """Draw the named series of `metrics_path` against `step` into a PNG.

    `panels=False`: every series on one axes (the first drawn thicker, e.g. the total loss);
    `panels=True`: one small panel per series. Series absent from every row are skipped;
    returns None (and writes nothing) when none is present.
    """
    plt = pyplot()
    rows = read_metrics(metrics_path)
    series = {k: [(r["step"], r[k]) for r in rows if r.get(k) is not None] for k in keys}
    series = {k: pts for k, pts in series.items() if pts}
    if not series:
        return None
    if panels:
        cols = 3
        n_rows = -(-len(series) // cols)
        fig, axes = plt.subplots(n_rows, cols, figsize=(4 * cols, 3 * n_rows), squeeze=False)
        for ax, (k, pts) in zip(axes.flat, series.items()):
            ax.plot(*zip(*pts), marker="." if len(pts) < 50 else None)
            ax.set_title(k)
            ax.set_xlabel("step")
        for ax in list(axes.flat)[len(series):]:
            ax.axis("off")
    else:
        fig, ax = plt.subplots(figsize=(8, 4.5))
        for i, (k, pts) in enumerate(series.items()):
            ax.plot(*zip(*pts), label=k, linewidth=2 if i == 0 else 1)
        ax.set(xlabel="optimiser step", ylabel=ylabel)
        ax.grid(alpha=0.3)
        ax.legend()
    if title:
        fig.suptitle(title)
    return save_png(fig, out_path, dpi=100 if not panels else 80)


def pyplot():
    """matplotlib's pyplot on the Agg backend (no display needed)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save_png(fig, path: str | Path, dpi: int = 100) -> Path:
    """Lay out `fig`, write it atomically as a PNG, and close it."""
    try:
        fig.tight_layout()
        with atomic_path(Path(path)) as tmp:
            fig.savefig(tmp, format="png", dpi=dpi)
    finally:
        pyplot().close(fig)
    return Path(path)


@contextmanager
def png(path: str | Path, figsize: tuple[float, float], dpi: int = 100) -> Iterator:
    """`with png(path, (w, h)) as (fig, ax): ...` draws one axes and writes the PNG atomically
    when the block ends without an error."""
    fig, ax = pyplot().subplots(figsize=figsize)
    try:
        yield fig, ax
    except BaseException:
        pyplot().close(fig)
        raise
    save_png(fig, path, dpi)


def bars_against_chance(ax, names: Sequence[str], values: Sequence[float],
                        chance: Sequence[float], flagged: Sequence[bool] = ()) -> None:
    """One bar per name (x 100), the chance level of each marked, flagged bars in red."""
    colors = ["tab:red" if f else "tab:blue" for f in (flagged or [False] * len(names))]
    ax.bar(range(len(names)), [100 * v for v in values], color=colors)
    ax.scatter(range(len(names)), [100 * c for c in chance], marker="_", color="black", s=200,
               label="chance", zorder=3)
    ax.set_xticks(range(len(names)), names, rotation=75, ha="right", fontsize=7)
    ax.set_ylim(0, 100)
