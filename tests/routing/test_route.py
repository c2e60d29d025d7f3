"""Routed retrieval of a query batch: only the picked queries generate, their answers and costs."""
from types import SimpleNamespace

import numpy as np

from umer1.engine.params import GenParams, Mode
from umer1.engine.settings import EmbeddingSettings
from umer1.routing import MarginRule, corpus_modes, route_queries, route_query


class FakeModel:
    """Disc embeddings are one-hot rows; gen writes 7 tokens per input; records what it generated."""

    def __init__(self):
        self.generated = []

    def encode(self, queries, mode, batch_size):
        return np.eye(3, dtype=np.float32)[[q % 3 for q in queries]]

    def generate(self, queries, batch_size, params):
        self.generated += list(queries)
        n = len(queries)
        return SimpleNamespace(embeddings=np.ones((n, 3), np.float32), num_tokens=np.full(n, 7),
                               found=np.ones(n, bool))


def test_only_uncertain_queries_reason():
    disc_scores = {0: [0.9, 0.1], 1: [0.5, 0.45], 2: [0.3, 0.3]}

    def search_disc(rows, emb):
        return [[f"d{i}"] for i in rows], [disc_scores[int(np.argmax(e))] for e in emb]

    def search_gen(rows, emb):
        return [[f"g{i}"] for i in rows], [[1.0, 0.0] for _ in rows]

    m = FakeModel()
    r = route_queries(m, [0, 1, 2], MarginRule(0.1), search_disc, search_gen, GenParams(max_new_tokens=8))
    assert m.generated == [1, 2]
    assert r.ids == [["d0"], ["g1"], ["g2"]] and r.reasoned.tolist() == [False, True, True]
    cost = r.cost()
    assert cost["reasoned"] == 2 and cost["generated_tokens"] == 14 and cost["fraction_reasoned"] == 2 / 3
    ids, scores, one = route_query(FakeModel(), 0, MarginRule(0.1), search_disc, search_gen)
    assert ids == ["d0"] and one["generated_tokens"] == 0


def test_corpus_modes_follow_alignment():
    assert corpus_modes(EmbeddingSettings()) == (Mode.DISC, Mode.GEN)
    assert corpus_modes(EmbeddingSettings(spaces_aligned=True)) == (Mode.DISC,)
