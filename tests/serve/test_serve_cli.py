"""`umer1 serve` as a user runs it: a subprocess on loopback, stopped at the end."""
from __future__ import annotations

import httpx

from umer1.cli import main

from tests.serve.util import cli_server


def test_serve_command(tiny_model_dir):
    with cli_server(["--model", str(tiny_model_dir), "--served-model-name", "m",
                     "--api-key-env", "UMER1_TEST_KEY", "--max-inputs", "2"],
                    env={"UMER1_TEST_KEY": "k1"}) as url:
        auth = {"Authorization": "Bearer k1"}
        r = httpx.post(url + "/v1/embeddings", json={"model": "m", "input": ["a", "b"]}, headers=auth)
        assert r.status_code == 200 and len(r.json()["data"]) == 2
        r = httpx.post(url + "/v1/embeddings", json={"input": ["a", "b", "c"]}, headers=auth)
        assert r.status_code == 400 and r.json()["error"]["code"] == "too_many_inputs"


def test_missing_key_variable_is_a_one_line_error(tiny_model_dir, capsys, monkeypatch):
    monkeypatch.delenv("UMER1_UNSET_VAR", raising=False)
    assert main(["serve", "--model", str(tiny_model_dir), "--api-key-env", "UMER1_UNSET_VAR"]) == 2
    assert "UMER1_UNSET_VAR is not set" in capsys.readouterr().err


def test_bad_limits_are_one_line_errors_before_loading(capsys):
    # The model path does not exist: the options are checked first, so it is never read.
    assert main(["serve", "--model", "/no/such/model", "--max-new-tokens", "9000"]) == 2
    err = capsys.readouterr().err
    assert "--max-new-tokens" in err and "8192" in err and len(err.strip().splitlines()) == 1
    assert main(["serve", "--model", "/no/such/model", "--max-gen-batch-size", "0"]) == 2
    assert "--max-gen-batch-size" in capsys.readouterr().err


def test_command_builds_typed_options(monkeypatch):
    import umer1.serve
    from umer1.serve import ServeOptions
    seen = []
    monkeypatch.setattr(umer1.serve, "run_server", lambda options: seen.append(options) or 0)
    assert main(["serve", "--model", "m", "--max-new-tokens", "64", "--mode", "gen",
                 "--max-text-tokens", "100"]) == 0
    assert seen == [ServeOptions(model="m", max_new_tokens=64, mode="gen", max_text_tokens=100)]
