"""Metrics against values computed by hand (landscape.md definitions)."""
import math

import numpy as np
import pytest

from umer1.eval.metrics import label_relevance, mean_metrics, query_metrics
from umer1.eval.ranking import rank_order

L2 = math.log2


def test_single_label_at_rank_2():
    m = query_metrics(["a", "b", "c"], ["b"])
    assert m["hit@1"] == 0 and m["hit@5"] == 1
    assert m["precision@5"] == pytest.approx(1 / 5)        # always divided by k
    assert m["recall@5"] == 1.0
    assert m["mrr@5"] == pytest.approx(0.5) and m["mrr@1"] == 0
    assert m["map@5"] == pytest.approx(0.5)                 # (1/2) / min(1, 5)
    assert m["ndcg_linear@5"] == pytest.approx(1 / L2(3))   # 1/log2(2+1) over IDCG 1
    assert m["f1@5"] == pytest.approx(2 * 0.2 * 1 / 1.2)


def test_several_relevant_items_binary():
    pred = ["x", "a", "y", "b", "z"]
    m = query_metrics(pred, ["a", "b", "c"])                # c is never retrieved
    assert m["recall@5"] == pytest.approx(2 / 3)
    assert m["precision@5"] == pytest.approx(2 / 5)
    # found at 2 (1/2) and at 4 (2/4); divided by min(3, 5) = 3
    assert m["map@5"] == pytest.approx((1 / 2 + 2 / 4) / 3)
    assert m["map@1"] == 0
    dcg = 1 / L2(3) + 1 / L2(5)
    idcg = 1 + 1 / L2(3) + 1 / L2(4)
    assert m["ndcg_linear@5"] == pytest.approx(dcg / idcg)
    assert m["ndcg_exponential@5"] == pytest.approx(dcg / idcg)   # 2^1 - 1 = 1: same as linear
    assert m["mrr@10"] == pytest.approx(0.5)


def test_graded_relevance_pairs_each_label_with_its_own_score():
    # labels listed in an order a set would not keep; relevance 0 counts for hit but not NDCG
    labels, rels = ["d3", "d1", "d7"], [1.0, 3.0, 0.0]
    pred = ["d1", "d7", "d3", "d9"]
    m = query_metrics(pred, labels, rels)
    dcg = 3 / L2(2) + 0 / L2(3) + 1 / L2(4)
    idcg = 3 / L2(2) + 1 / L2(3)                       # sorted relevances 3, 1, 0 cut to k
    assert m["ndcg_linear@5"] == pytest.approx(dcg / idcg)
    dcg_e = 7 / L2(2) + 0 + 1 / L2(4)
    idcg_e = 7 / L2(2) + 1 / L2(3)
    assert m["ndcg_exponential@5"] == pytest.approx(dcg_e / idcg_e)
    assert m["hit@1"] == 1 and m["recall@5"] == 1.0 and m["precision@1"] == 1.0
    assert m["map@5"] == pytest.approx((1 + 1 + 1) / 3)
    # permuting the labels together with their relevances changes nothing
    m2 = query_metrics(pred, ["d7", "d3", "d1"], [0.0, 1.0, 3.0])
    assert m2 == m
    # a mapping gives the same as parallel lists
    assert query_metrics(pred, {"d3": 1.0, "d1": 3.0, "d7": 0.0}) == m


def test_duplicate_labels_keep_the_highest_relevance():
    assert label_relevance(["a", "b", "a"], [1, 2, 3]) == {"a": 3.0, "b": 2.0}
    m = query_metrics(["a", "b"], ["a", "a"])
    assert m["recall@1"] == 1.0 and m["map@1"] == 1.0


def test_cutoff_and_no_labels():
    m = query_metrics(["a", "b"], ["b"], ks=(1,))
    assert set(m) == {f"{n}@1" for n in ("hit", "ndcg_linear", "ndcg_exponential", "precision",
                                          "recall", "f1", "map", "mrr")}
    empty = query_metrics(["a", "b"], [])
    assert empty["recall@5"] == 1.0 and empty["hit@5"] == 0 and empty["ndcg_linear@5"] == 0
    assert empty["map@5"] == 0


def test_ideal_dcg_cut_to_k():
    # 12 relevant items, all in the top 10: NDCG@10 = 1, precision@10 = 1, map@10 = 1
    labels = [f"l{i}" for i in range(12)]
    m = query_metrics(labels, labels)
    assert m["ndcg_linear@10"] == pytest.approx(1) and m["precision@10"] == 1 and m["map@10"] == 1
    assert m["recall@10"] == pytest.approx(10 / 12)


def test_ties_are_broken_by_candidate_position():
    scores = np.array([0.5, 0.9, 0.5, 0.9, 0.1], dtype=np.float32)
    assert rank_order(scores).tolist() == [1, 3, 0, 2, 4]
    # a positive tied with a negative ranks first exactly when it comes first
    assert query_metrics([0, 1], [0])["hit@1"] == 1


def test_mean_over_queries():
    a = query_metrics(["a"], ["a"], ks=(1,))
    b = query_metrics(["b"], ["a"], ks=(1,))
    assert mean_metrics([a, b])["hit@1"] == 0.5
    assert mean_metrics([]) == {}
