"""`umer1.experiments.demo.Segments`: training to a wall-clock budget in resumed segments."""
import time

from umer1.experiments.demo import Segments


def _trainer(per_step, calls):
    state = {"step": 0}

    def train_to(target):
        assert target > state["step"]          # every segment trains forward from the last
        time.sleep(per_step * (target - state["step"]))
        calls.append(target)
        state["step"] = target
    return train_to


def test_segments_fill_the_budget_and_stop_in_time():
    calls = []
    seg = Segments(budget=0.6, first=5, lo=2, hi=10_000, tail=0.1)
    t = time.perf_counter()
    steps = seg.run(_trainer(0.004, calls))
    took = time.perf_counter() - t
    assert calls[0] == 5 and len(calls) >= 3 and steps == calls[-1]
    assert 0.4 < took < 0.75                    # most of the budget used, overrun small
    assert steps > 60                           # ~150 fit: far more than the first segment


def test_segments_respect_min_and_max_steps():
    calls = []
    assert Segments(budget=0.0, first=1, lo=3, hi=100).run(_trainer(0.001, calls)) == 3
    calls.clear()
    assert Segments(budget=5.0, first=4, lo=1, hi=7).run(_trainer(0.0, calls)) == 7
    assert calls[-1] == 7
