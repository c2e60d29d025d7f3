"""kill -9 in the middle of `umer1 annotate`, restart: no record lost, none duplicated."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from tests.annotate.conftest import read_jsonl, write_pairs

from umer1.cli import main


@pytest.mark.faults
def test_kill_9_mid_run_then_resume(chat_server, tmp_path, tiny_model_dir):
    n_pairs = 30
    rows = [{"id": f"p{i}", "qry": {"text": f"query {i}"}, "pos": {"text": f"target {i}"}}
            for i in range(n_pairs)]
    inp = write_pairs(tmp_path / "pairs.jsonl", rows)
    out, journal = tmp_path / "sft.jsonl", tmp_path / "sft.jsonl.journal"
    with chat_server(delay=0.05) as server:
        cmd = [sys.executable, "-m", "umer1.cli", "annotate", "--teacher",
               f"openai:{server.base_url}/m", "--input", str(inp), "--output", str(out),
               "--tokenizer", str(tiny_model_dir), "--concurrency", "2", "--no-progress"]
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if journal.exists() and journal.read_text().count("\n") >= 9:   # header + 8 sides
                break
            time.sleep(0.01)
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
        assert not out.exists()                       # no partial output, ever
        with journal.open("ab") as fh:                # as if the kill tore a line in half
            fh.write(b'{"key": "p3/qry", "status": "o')
        done_before = {json.loads(line)["key"] for line in journal.read_text().splitlines()[1:-1]}
        assert 8 <= len(done_before) < 2 * n_pairs
        asked_before = len(server.log)

        # the restart runs in this process (same code path, one interpreter start less)
        assert main(cmd[3:]) == 0

    # every pair exactly once, in input order
    records = read_jsonl(out)
    assert [r["qry"]["conversations"][0]["value"].split("\n")[0] for r in records] == \
           [f"query {i}" for i in range(n_pairs)]
    for i, r in enumerate(records):
        assert f"summary of target {i}\n<gen_emb>" in r["pos"]["conversations"][1]["value"]
    # the journal holds each side once; the sides finished before the kill were not asked again
    entries = [json.loads(line) for line in journal.read_text().splitlines()[1:]]
    assert len(entries) == 2 * n_pairs == len({e["key"] for e in entries})
    side_text = {"qry": "query", "pos": "target"}
    before = {f"{side_text[k.split('/')[1]]} {k.split('/')[0][1:]}" for k in done_before}
    asked_after = Counter(e["text"] for e in server.log[asked_before:])
    assert not before & set(asked_after)
    assert set(asked_after) | before == {f"{s} {i}" for s in ("query", "target") for i in range(n_pairs)}
    assert server.max_inflight <= 2                  # --concurrency 2 is respected
    summary = json.loads((tmp_path / "sft.summary.json").read_text())
    assert summary["pairs_written"] == n_pairs
    assert summary["this_run"]["sides_already_done"] == len(done_before)
    assert summary["requests"] == 2 * n_pairs   # journalled requests; ones cut off by the kill are not
