"""Shared fixtures: tiny random checkpoints built once per test session (no network)."""
from __future__ import annotations

import pytest
import torch

from umer1.engine.tiny import make_tiny_model

torch.set_num_threads(1)  # tiny models: a second thread buys little and thrashes on a busy machine

# The backbones every per-backbone test runs on (`backbone_dir`), each a session fixture below.
BACKBONES = {"qwen2_vl": "tiny_model_dir", "qwen2_5_vl": "tiny_qwen25_dir",
             "qwen3_vl": "tiny_qwen3_dir"}


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """Qwen2-VL layout, compact tokenizer: the fast model for most tests."""
    return make_tiny_model(tmp_path_factory.mktemp("tiny_qwen2_vl"), backbone="qwen2_vl",
                           tokenizer="compact", seed=0)


@pytest.fixture(scope="session")
def tiny_qwen_tok_dir(tmp_path_factory):
    """Qwen2-VL layout with the REAL Qwen2-VL tokenizer (ids match released checkpoints)."""
    return make_tiny_model(tmp_path_factory.mktemp("tiny_qwen_tok"), backbone="qwen2_vl",
                           tokenizer="qwen", seed=0)


@pytest.fixture(scope="session")
def tiny_qwen25_dir(tmp_path_factory):
    return make_tiny_model(tmp_path_factory.mktemp("tiny_qwen2_5_vl"), backbone="qwen2_5_vl",
                           tokenizer="compact", seed=0)


@pytest.fixture(scope="session")
def tiny_qwen3_dir(tmp_path_factory):
    """Qwen3-VL layout (16 px patches, DeepStack, no default system turn), compact tokenizer."""
    return make_tiny_model(tmp_path_factory.mktemp("tiny_qwen3_vl"), backbone="qwen3_vl",
                           tokenizer="compact", seed=0)


@pytest.fixture(scope="session", params=list(BACKBONES))
def backbone_dir(request):
    """The tiny model of each backbone in turn: a test taking it runs once per backbone."""
    return request.getfixturevalue(BACKBONES[request.param])


@pytest.fixture(scope="session")
def tiny_model(tiny_model_dir):
    from umer1 import UMEModel
    return UMEModel.from_pretrained(tiny_model_dir)
