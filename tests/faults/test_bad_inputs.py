"""Every row of the bad-input table (tests/faults/bad_inputs.py, shown in docs/bad-input.md) as a
CLI call: the documented exit status, ONE line on stderr that starts with `error:` and reads as
documented, no traceback, nothing written, and no model loaded where none is needed."""
from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
import torch

from tests.faults.bad_inputs import CASES, REPO, docs_table, render_table
from umer1.cli import main

pytestmark = pytest.mark.faults


def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def files_under(d):
    return {str(p.relative_to(d)): p.stat().st_size for p in d.rglob("*")}


def argv_of(case, d, model, port):
    return [a.format(d=d, model=model, repo=REPO, port=port) for a in case.argv]


def normalised(line: str, d, model, port) -> str:
    return (line.replace(f"{d}/", "").replace(str(model), "MODEL").replace(str(d), "DIR")
            .replace(f":{port}/", ":PORT/"))


def check_line(line: str, says: str) -> None:
    if says.endswith("…"):
        assert line.startswith(says[:-1]), (line, says)
    else:
        assert line == says


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case, tmp_path, tiny_model_dir, capsys, monkeypatch):
    if case.needs_no_gpu and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    d, port = tmp_path / "w", closed_port()
    d.mkdir()
    if case.setup:
        case.setup(d, tiny_model_dir)
    before = files_under(d)
    if not case.loads_model:
        from transformers import PreTrainedModel

        def refuse(*a, **k):
            raise AssertionError("weights were loaded before the bad input was found")
        monkeypatch.setattr(PreTrainedModel, "from_pretrained", classmethod(refuse))
    capsys.readouterr()
    status = main(argv_of(case, d, tiny_model_dir, port))   # a traceback would fail the test here
    err = capsys.readouterr().err.strip().splitlines()
    assert status == case.status
    assert len(err) == 1 and err[0].startswith("error: ")
    check_line(normalised(err[0], d, tiny_model_dir, port), case.says)
    after = files_under(d)
    if case.status == 2:
        assert after == before          # nothing written, nothing removed
    else:
        assert set(after) - set(before) <= {"sft.jsonl.journal"}


def test_a_real_process_prints_one_line_and_no_traceback(tmp_path, tiny_model_dir):
    """The console command as a user runs it (logging on, model loaded, then refused)."""
    case = next(c for c in CASES if c.id == "long-text")
    d = tmp_path / "w"
    d.mkdir()
    case.setup(d, tiny_model_dir)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    res = subprocess.run([sys.executable, "-m", "umer1.cli", *argv_of(case, d, tiny_model_dir, 0)],
                         capture_output=True, text=True, env=env, timeout=300)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and normalised(lines[0], d, tiny_model_dir, 0) == case.says
    assert not (d / "out.npy").exists()


def test_docs_show_the_table_the_tests_run():
    assert docs_table() == render_table(), \
        "docs/bad-input.md is out of step: run python -m tests.faults.bad_inputs --write"
