"""The learned gate: it learns a separable label, is seeded, and its file is tied to one model."""
import json

import numpy as np
import pytest

from umer1.routing import Gate, GateConfig, fit_gate, gate_features
from umer1.utils.errors import InputError

FP = "a" * 32


def _data(n=80, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 6))
    return x, (x[:, 0] + 0.5 * x[:, 3] > 0).astype(int)


@pytest.mark.parametrize("hidden", [0, 8])
def test_fits_a_separable_label(hidden):
    x, y = _data()
    gate = fit_gate(x, y, FP, GateConfig(hidden=hidden, steps=200))
    assert ((gate.probability(x) >= 0.5) == y).mean() >= 0.9
    assert gate.trained_on == 80 and gate.positive_rate == pytest.approx(y.mean())


def test_seeded():
    x, y = _data()
    a, b = (fit_gate(x, y, FP, GateConfig(hidden=4, steps=20, seed=3)) for _ in range(2))
    c = fit_gate(x, y, FP, GateConfig(hidden=4, steps=20, seed=4))
    assert np.array_equal(a.probability(x), b.probability(x))
    assert not np.array_equal(a.probability(x), c.probability(x))


def test_save_load_round_trip_and_features(tmp_path):
    x, y = _data()
    gate = fit_gate(x, y, FP, GateConfig(hidden=3))
    gate.save(tmp_path / "g.json")
    back = Gate.load(tmp_path / "g.json", FP)
    assert np.allclose(back.probability(x), gate.probability(x))
    f = gate_features(np.ones((2, 4)), np.zeros((2, 3)))
    assert f.shape == (2, 7) and f.dtype == np.float32


def test_refused_for_another_model(tmp_path):
    x, y = _data()
    fit_gate(x, y, FP).save(tmp_path / "g.json")
    with pytest.raises(InputError, match="another model") as e:
        Gate.load(tmp_path / "g.json", "b" * 32)
    assert e.value.field == "fingerprint" and e.value.file == str(tmp_path / "g.json")


@pytest.mark.parametrize("content", [b"\x89PNG\x00\x01", b"[1, 2]", b'{"format": "other"}',
                                     b"not json at all"])
def test_not_a_gate_file(tmp_path, content):
    (tmp_path / "x.json").write_bytes(content)
    with pytest.raises(InputError, match="not a routing gate file"):
        Gate.load(tmp_path / "x.json", FP)


def test_damaged_gate_files(tmp_path):
    x, y = _data()
    fit_gate(x, y, FP).save(tmp_path / "g.json")
    good = json.loads((tmp_path / "g.json").read_text())
    for change in ({"layers": [[[[1.0]], [0.0]]]}, {"threshold": 3}, {"mean": "x"}):
        (tmp_path / "d.json").write_text(json.dumps({**good, **change}))
        with pytest.raises(InputError) as e:
            Gate.load(tmp_path / "d.json", FP)
        assert "\n" not in str(e.value)
    with pytest.raises(InputError, match="no such gate file"):
        Gate.load(tmp_path / "missing.json", FP)


def test_needs_two_labelled_queries():
    with pytest.raises(InputError, match="at least 2"):
        fit_gate(np.zeros((1, 3)), np.zeros(1), FP)
