"""The fault suite: real SIGKILLs of the long jobs, and bad input at the CLI.

Run it alone with `pytest tests/faults`, or with the kill-and-resume tests that live beside
their packages with `pytest -m faults`.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

REPO = Path(__file__).resolve().parents[2]


def cli(*args: str) -> list[str]:
    """The command line of `umer1 ARGS` in a fresh interpreter."""
    return [sys.executable, "-m", "umer1.cli", *args]


def kill_when(cmd: list[str], ready: Callable[[], bool], timeout: float = 180) -> None:
    """Start `cmd`, SIGKILL it as soon as `ready()` holds; fail if it ended first (then the
    kill would have tested nothing) or never got there."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + timeout
    try:
        while not ready():
            if proc.poll() is not None:
                raise AssertionError("the job ended before the kill point:\n"
                                     + proc.stderr.read().decode()[-3000:])
            if time.monotonic() > deadline:
                raise AssertionError(f"no kill point within {timeout} s")
            time.sleep(0.005)
        assert proc.poll() is None, "the job ended before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
