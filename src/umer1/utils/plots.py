"""A PNG of the loss terms over steps (matplotlib, no display needed)."""
from __future__ import annotations

from pathlib import Path

from umer1.utils.files import atomic_path
from umer1.train.loop import read_metrics

TERMS = ("loss", "con_gen", "con_disc", "ntp_qry", "ntp_pos", "con_genq_disct", "con_discq_gent")


def plot_losses(metrics_path: str | Path, out_path: str | Path) -> Path:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_metrics(metrics_path)
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for term in TERMS:
        pts = [(r["step"], r[term]) for r in rows if r.get(term) is not None]
        if pts:
            ax.plot(*zip(*pts), label=term, linewidth=2 if term == "loss" else 1)
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("loss")
    ax.set_title("SFT loss terms")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    out_path = Path(out_path)
    with atomic_path(out_path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return out_path
