"""Atomic writes: the user's umask is kept, and outputs that belong together land together."""
import os
import stat

import pytest

from umer1.utils.errors import InputError
from umer1.utils.files import atomic_path, atomic_paths, check_writable, write_json


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_atomic_writes_keep_the_umask(tmp_path, umask_022):
    write_json(tmp_path / "a.json", {"x": 1})
    with atomic_path(tmp_path / "b.bin") as tmp:
        tmp.write_bytes(b"1")
    for name in ("a.json", "b.bin"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644


def test_atomic_paths_rename_all_or_none(tmp_path):
    a, b = tmp_path / "e.npy", tmp_path / "t.jsonl"
    with pytest.raises(RuntimeError):
        with atomic_paths(a, b) as (ta, tb):
            ta.write_bytes(b"embeddings")
            raise RuntimeError("killed before the second file was written")
    assert not a.exists() and not b.exists() and list(tmp_path.iterdir()) == []
    with atomic_paths(a, b) as (ta, tb):
        ta.write_bytes(b"1")
        tb.write_bytes(b"2")
        assert not a.exists()            # nothing is renamed before both are written
    assert a.read_bytes() == b"1" and b.read_bytes() == b"2"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.npy", "t.jsonl"]


def test_check_writable_names_the_problem(tmp_path):
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(InputError, match="field '--output': cannot write .*file.txt is a file, not a folder"):
        check_writable(tmp_path / "file.txt" / "deeper" / "out.npy", "--output")
    with pytest.raises(InputError, match="is a folder"):
        check_writable(tmp_path, "--output")
    check_writable(tmp_path / "new" / "deeper" / "out.npy")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]   # nothing left behind
