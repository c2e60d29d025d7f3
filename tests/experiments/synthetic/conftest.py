import pytest

from umer1.experiments.synthetic import generate_dataset

SMALL = dict(train=64, rl=16, eval=6, candidates=5)


@pytest.fixture(scope="session")
def small_sizes():
    return dict(SMALL)


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory):
    """One small dataset shared by the reader tests (generation is seeded, so it is fixed)."""
    return generate_dataset(tmp_path_factory.mktemp("synth") / "data", seed=3, **SMALL)
