"""Cost-quality curves by hand."""
import numpy as np
import pytest

from umer1.routing import bootstrap_se, curve, first_reaching, oracle_curve, order_by

DISC = np.array([1.0, 0.0, 0.0, 1.0])
GEN = np.array([0.0, 1.0, 1.0, 1.0])
TOK = np.array([10, 20, 30, 40])


def test_curve_routes_in_priority_order():
    c = curve(order_by([4, 3, 2, 1]), DISC, GEN, TOK)     # query 0 first: gen loses it
    assert c["fraction"] == [0, 0.25, 0.5, 0.75, 1.0]
    assert c["metric"] == pytest.approx([0.5, 0.25, 0.5, 0.75, 0.75])
    assert c["tokens_per_query"] == pytest.approx([0, 2.5, 7.5, 15, 25])
    assert first_reaching(c, 0.75) == 0.75 and first_reaching(c, 0.9) is None


def test_oracle_stops_once_gen_stops_helping():
    o = oracle_curve(DISC, GEN, TOK)
    assert o["metric"] == pytest.approx([0.5, 0.75, 1.0, 1.0, 1.0])
    assert o["point"] == {"fraction": 0.5, "metric": pytest.approx(1.0),
                          "tokens_per_query": pytest.approx(12.5)}


def test_bootstrap_se_is_seeded_and_zero_where_nothing_varies():
    order = order_by([4, 3, 2, 1])
    a = bootstrap_se(order, DISC, GEN, np.array([0, 2, 4]), draws=200, seed=1)
    assert np.array_equal(a, bootstrap_se(order, DISC, GEN, np.array([0, 2, 4]), draws=200, seed=1))
    # at k=2 the routed values are gen[0], gen[1], disc[2], disc[3] = 0, 1, 0, 1: SE ~ 0.5/sqrt(4)
    assert a[1] == pytest.approx(0.25, abs=0.05)
    ones = np.ones(4)
    assert bootstrap_se(order, ones, ones, np.array([0, 4]), draws=50).tolist() == [0.0, 0.0]
