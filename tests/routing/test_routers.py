"""Routers, their specs and the score statistics they read."""
import math

import numpy as np
import pytest

from umer1.routing import Always, GateRouter, MarginRule, fit_gate, parse_router, score_stats
from umer1.utils.errors import InputError


def test_score_stats_by_hand():
    s = score_stats([[0.9, 0.5, 0.1], [0.4, 0.4], [0.7]])
    assert s[0, 0] == pytest.approx(0.9) and s[0, 1] == pytest.approx(0.4)
    # 0.4 apart at temperature 0.02: the softmax is all on the best, entropy ~ 0
    assert s[0, 2] == pytest.approx(0.0, abs=1e-6)
    assert s[1, 1] == 0 and s[1, 2] == pytest.approx(1.0)     # a tie: maximal doubt
    assert s[2, 1] == 1.0 and s[2, 2] == 0                      # a lone candidate


def test_margin_rule_reasons_below_its_threshold():
    stats = score_stats([[0.9, 0.5], [0.6, 0.55], [0.3, 0.3]])
    r = MarginRule(0.1)
    assert r.decide(stats).tolist() == [False, True, True]
    assert list(np.argsort(-r.priority(stats), kind="stable")) == [2, 1, 0]
    assert MarginRule(0.0).decide(stats).tolist() == [False] * 3
    assert Always(True).decide(stats).all() and not Always(False).decide(stats).any()


@pytest.mark.parametrize("spec,expected", [("disc", "always-disc"), ("always-gen", "always-gen"),
                                           ("rule:0.25", "rule:0.25"), ("rule:1", "rule:1"),
                                           ("rule:0", "rule:0")])
def test_specs(spec, expected):
    assert parse_router(spec).name == expected


@pytest.mark.parametrize("spec", ["rule:1.01", "rule:-0.5", "rule:nan", "rule:inf", "rule:abc",
                                  "rule:", "gate:", "sometimes", ""])
def test_bad_specs_are_one_line_input_errors(spec):
    with pytest.raises(InputError) as e:
        parse_router(spec)
    assert e.value.field == "--router" and "\n" not in str(e.value)


def test_threshold_is_validated_in_the_constructor_too():
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        MarginRule(2.0)
    with pytest.raises(InputError):
        MarginRule(True)


def test_gate_spec_with_its_own_threshold(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "g@v1.json"          # an @ in the path is kept when no number follows
    fit_gate(rng.normal(size=(10, 5)), np.arange(10) % 2, "f" * 32).save(path)
    r = parse_router(f"gate:{path}", "f" * 32)
    assert isinstance(r, GateRouter) and r.threshold == 0.5
    assert parse_router(f"gate:{path}@0.8", "f" * 32).threshold == 0.8
    with pytest.raises(InputError, match="--router"):
        parse_router(f"gate:{path}@1.5", "f" * 32)
    feats = rng.normal(size=(4, 2))
    p = r.priority(feats[:, :1].repeat(3, 1), rng.normal(size=(4, 2)))
    assert p.shape == (4,) and ((0 < p) & (p < 1)).all() and not math.isnan(p.sum())
