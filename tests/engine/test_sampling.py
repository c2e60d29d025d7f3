"""Sampling uses exactly the caller's parameters, never the checkpoint's generation_config
(Qwen2-VL-Instruct ships top_k=1, top_p=0.001, temperature=0.01: spec section 9.1)."""
import json
import shutil

import numpy as np
import pytest

from umer1 import InputError, UMEModel
from umer1.engine.params import EmbedSpec, GenParams, Mode, parse_mode

INSTRUCT_GENERATION_CONFIG = {"do_sample": True, "top_k": 1, "top_p": 0.001, "temperature": 0.01,
                              "repetition_penalty": 1.05}


@pytest.fixture(scope="module")
def greedy_config_model(tiny_model_dir, tmp_path_factory):
    """The tiny model with an Instruct-style generation_config.json (top_k=1)."""
    path = tmp_path_factory.mktemp("instruct_like") / "model"
    shutil.copytree(tiny_model_dir, path)
    cfg_file = path / "generation_config.json"
    cfg = json.loads(cfg_file.read_text()) if cfg_file.is_file() else {}
    cfg.update(INSTRUCT_GENERATION_CONFIG)
    cfg_file.write_text(json.dumps(cfg))
    model = UMEModel.from_pretrained(path)
    assert model.hf_model.generation_config.top_k == 1
    return model


def test_sampling_ignores_the_checkpoints_top_k(greedy_config_model):
    out = greedy_config_model.generate(["a red square"], max_new_tokens=12, temperature=1.0,
                                       num_samples=6, seed=0)
    texts = out.texts[0]
    assert len(set(texts)) > 1, f"every sample is the same text: {texts!r}"
    emb = out.embeddings[0]
    assert not np.allclose(emb[0], emb[1:], atol=1e-6)


def test_greedy_stays_greedy_and_repeatable(greedy_config_model):
    a = greedy_config_model.generate(["a red square"], max_new_tokens=12)
    b = greedy_config_model.generate(["a red square"], max_new_tokens=12)
    assert a.texts == b.texts
    np.testing.assert_array_equal(a.embeddings, b.embeddings)


def test_sampling_kwargs_leave_nothing_to_the_checkpoint():
    kw = GenParams(temperature=0.7, top_p=0.9, num_samples=2).generate_kwargs()
    assert kw["do_sample"] is True and kw["top_k"] == 0 and kw["top_p"] == 0.9
    assert kw["temperature"] == 0.7 and kw["repetition_penalty"] == 1.0
    assert GenParams().generate_kwargs()["do_sample"] is False


@pytest.mark.parametrize("bad, field", [
    (dict(temperature=-1.0), "temperature"), (dict(temperature=float("nan")), "temperature"),
    (dict(top_p=0.0), "top_p"), (dict(top_p=1.5), "top_p"), (dict(top_k=-1), "top_k"),
    (dict(num_samples=0), "num_samples"), (dict(max_new_tokens=0), "max_new_tokens"),
    (dict(num_samples=2), "num_samples"),   # several samples need temperature > 0
])
def test_bad_generation_parameters_are_input_errors(bad, field):
    with pytest.raises(InputError) as exc:
        GenParams(**bad)
    assert exc.value.field == field


def test_modes_are_parsed_once():
    assert parse_mode("gen") is Mode.GEN and str(Mode.DISC) == "disc"
    for bad in ([], "", "Gen", None):
        with pytest.raises(InputError):
            parse_mode(bad)
    assert EmbedSpec("disc").key_info() == {"mode": "disc"}
    assert EmbedSpec("gen", GenParams(max_new_tokens=5)).key_info() == {"mode": "gen", "max_new_tokens": 5}
