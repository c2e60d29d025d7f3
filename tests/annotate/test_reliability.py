"""`umer1 annotate` refuses what cannot work, up front or as soon as it is known, in one line."""
from __future__ import annotations

import socket

import pytest
from tests.annotate.conftest import mmeb_rows, write_pairs

from umer1.annotate.teachers import HFTeacher, TeacherInput
from umer1.cli import main
from umer1.engine.params import GenParams


def _closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()          # nothing listens there now: connections are refused
    return port


def test_unreachable_teacher_exits_non_zero(image_dir, tiny_model_dir, capsys):
    inp = write_pairs(image_dir / "pairs.jsonl", mmeb_rows(1))
    out = image_dir / "sft.jsonl"
    rc = main(["annotate", "--teacher", f"openai:http://127.0.0.1:{_closed_port()}/v1/m",
               "--input", str(inp), "--output", str(out), "--tokenizer", str(tiny_model_dir),
               "--no-progress", "--max-retries", "1", "--retry-base-delay", "0.001"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and not out.exists()
    assert len(err) == 1 and "cannot reach the teacher" in err[0] and "resume" in err[0]


@pytest.mark.parametrize("extra,where", [
    (["--temperature", "-1"], "field 'temperature'"),
    (["--max-tokens", "0"], "field 'max_new_tokens'"),
    (["--dtype", "int8"], "field 'dtype'"),
])
def test_bad_generation_options_fail_before_the_teacher_loads(image_dir, tiny_model_dir, capsys,
                                                              monkeypatch, extra, where):
    import transformers

    def refuse(*a, **k):
        raise AssertionError("the teacher was loaded before the error was found")
    monkeypatch.setattr(transformers.AutoModelForImageTextToText, "from_pretrained", refuse)
    inp = write_pairs(image_dir / "pairs.jsonl", mmeb_rows(1))
    rc = main(["annotate", "--teacher", f"hf:{tiny_model_dir}", "--input", str(inp), "--output",
               str(image_dir / "sft.jsonl"), "--tokenizer", "teacher", *extra])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and where in err


def test_hf_teacher_passes_every_sampling_parameter(image_dir, tiny_model_dir, monkeypatch):
    """A Qwen2-VL-Instruct generation_config (top_k=1, top_p=0.001) must not leak in."""
    t = HFTeacher(str(tiny_model_dir), max_new_tokens=4, temperature=0.7, seed=0)
    t.model.generation_config.top_k, t.model.generation_config.top_p = 1, 0.001
    t.model.generation_config.repetition_penalty = 1.05
    seen = {}
    real = t.model.generate

    def spy(**kwargs):
        seen.update(kwargs)
        return real(**kwargs)
    monkeypatch.setattr(t.model, "generate", spy)
    t.complete(TeacherInput("describe it", []), "k")
    want = GenParams(max_new_tokens=4, temperature=0.7).generate_kwargs()
    assert {k: seen[k] for k in want} == want
    assert seen["top_k"] == 0 and seen["top_p"] == 1.0 and seen["repetition_penalty"] == 1.0
