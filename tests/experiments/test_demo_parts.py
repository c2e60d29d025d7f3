"""The demo's statistics, per-query scoring and RL learning-signal check."""
import numpy as np
import pytest

from umer1.experiments.demo_eval import facts_stated, hits, summary_of
from umer1.train.rl.signal import NoLearningSignal, check_learning_signal
from umer1.experiments.demo_stats import mcnemar_p, paired, spread, standard_error


def test_mcnemar_exact_values():
    assert mcnemar_p(0, 0) == 1.0
    assert mcnemar_p(5, 5) == 1.0
    assert mcnemar_p(0, 6) == pytest.approx(2 / 64)          # two-sided: 2 * 0.5^6
    assert mcnemar_p(10, 0) < 0.01


def test_paired_difference_and_its_standard_error():
    a = [True, True, True, False]
    b = [False, True, False, False]
    p = paired(a, b)
    assert p["diff"] == pytest.approx(0.5) and p["only_a"] == 2 and p["only_b"] == 0
    assert p["se"] == pytest.approx(standard_error([1, 0, 1, 0]))
    assert spread([1.0, 3.0]) == pytest.approx(np.std([1.0, 3.0], ddof=1))
    with pytest.raises(ValueError):
        paired([True], [])


def test_hits_are_strict_ties_count_against_the_gold():
    c = np.eye(3, dtype=np.float32)
    q = np.array([[1, 0, 0], [0.5, 0.5, 0], [0, 0, 1]], np.float32)
    assert hits(q, c, [[0, 1, 2]] * 3, [{0: 1.0}, {0: 1.0}, {0: 1.0}]) == [True, False, False]


def test_facts_and_summary_of_a_generated_text():
    text = "<think>1 red circle 2 none; red at 1 one; count one</think><answer>one\n<gen_emb>"
    assert facts_stated(text, ["1 red circle", "red at 1 one", "count two"]) == pytest.approx(2 / 3)
    assert facts_stated(text, ["1 red circle", "1 red circle"]) == pytest.approx(0.5)   # needed twice
    assert summary_of(text) == "one" and summary_of("no answer") == ""


def test_learning_signal_check():
    flat = {"zero_spread_groups": 1.0, "format_rate": 0.0}
    some = {"zero_spread_groups": 0.5, "format_rate": 1.0}
    check_learning_signal([flat], 2)                      # not yet probed
    check_learning_signal([flat, some], 2)                # one step had spread: keep going
    with pytest.raises(NoLearningSignal, match="format rate 0%"):
        check_learning_signal([flat, flat], 2)
    check_learning_signal([flat, flat], 0)                # probing off
