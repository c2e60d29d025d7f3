"""Routed query throughput against always-gen, in the same run, on a random tiny Qwen2-VL.

The corpus is embedded once, before timing, in both modes. Timed per repeat: a batch of queries
answered (1) by the margin rule, which reasons only for the queries whose disc margin is under a
threshold (set here to the median margin, so about half reason), and (2) always in gen mode.
A random model never writes `<gen_emb>`, so every generation runs the whole budget: the same
tokens per reasoned query in both arms.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import paired_median_times, row  # noqa: E402

from umer1 import UMEModel  # noqa: E402
from umer1.engine.params import GenParams  # noqa: E402
from umer1.engine.tiny import make_tiny_model  # noqa: E402
from umer1.routing import Always, MarginRule, route_queries, score_stats  # noqa: E402


def _search(corpus: np.ndarray, k: int = 10):
    def search(rows, q):
        s = q @ corpus.T
        top = np.argsort(-s, axis=1, kind="stable")[:, :k]
        return top.tolist(), np.take_along_axis(s, top, 1).tolist()
    return search


def run(quick: bool = False) -> dict:
    import logging
    import tempfile
    logging.getLogger("umer1.engine.model").setLevel(logging.ERROR)  # random weights: no <gen_emb>
    torch.manual_seed(0)
    repeats = 3 if quick else 7
    n_queries, new_tokens = (16, 16) if quick else (32, 32)
    with tempfile.TemporaryDirectory() as tmp:
        m = UMEModel.from_pretrained(make_tiny_model(Path(tmp) / "m", hidden_size=256, num_layers=4,
                                                     num_heads=4, num_kv_heads=2, seed=0))
    queries = [f"find the document about topic number {i} and its {i % 5} neighbours"
               for i in range(n_queries)]
    corpus = [f"a short passage on topic {i}" for i in range(64)]
    params = GenParams(max_new_tokens=new_tokens)
    with torch.no_grad():
        disc_corpus = m.encode(corpus, mode="disc")
        gen_corpus = m.generate(corpus, params=params).embeddings
        disc_q = m.encode(queries, mode="disc")
    search_disc, search_gen = _search(disc_corpus), _search(gen_corpus)
    margins = score_stats(search_disc(None, disc_q)[1])[:, 1]
    rule = MarginRule(float(np.clip(np.median(margins), 0, 1)))
    fraction = float(rule.decide(score_stats(search_disc(None, disc_q)[1])).mean())

    def routed():
        return route_queries(m, queries, rule, search_disc, search_gen, params)

    def always_gen():
        return route_queries(m, queries, Always(True), search_disc, search_gen, params)
    with torch.no_grad():
        t_routed, t_gen = paired_median_times(routed, always_gen, repeats)
    return {"name": "routing", "queries": n_queries, "max_new_tokens": new_tokens,
            "fraction_reasoned": fraction, "threads": torch.get_num_threads(),
            "rows": [row("routed queries/s (margin rule)", n_queries / t_routed, "queries/s",
                         n_queries / t_gen, "always gen",
                         note=f"{100 * fraction:.0f}% of queries reasoned, {new_tokens} new tokens each")]}


if __name__ == "__main__":
    from benchmarks.run import main
    sys.exit(main(["--only", "routing"] + sys.argv[1:]))
