"""The journal: torn last lines are cut, settings must match, the last entry of a key wins."""
from __future__ import annotations

import pytest

from umer1.annotate.journal import Journal
from umer1.utils.errors import InputError


def test_torn_line_is_dropped_and_appends_stay_parseable(tmp_path):
    path = tmp_path / "j"
    j = Journal(path, {"teacher": "a"})
    j.append({"key": "1/qry", "status": "error", "transient": True})
    j.append({"key": "1/qry", "status": "ok"})
    j.close()
    with path.open("ab") as fh:
        fh.write(b'{"key": "2/qry", "sta')
    j = Journal(path, {"teacher": "a"})
    assert j.latest() == {"1/qry": {"key": "1/qry", "status": "ok"}}
    j.append({"key": "2/qry", "status": "ok"})
    j.close()
    assert set(Journal(path, {"teacher": "a"}).latest()) == {"1/qry", "2/qry"}


def test_settings_must_match(tmp_path):
    Journal(tmp_path / "j", {"teacher": "a"}).close()
    with pytest.raises(InputError, match="different teacher"):
        Journal(tmp_path / "j", {"teacher": "b"})
    (tmp_path / "k").write_bytes(b'{"journ')        # killed while writing the header
    Journal(tmp_path / "k", {"teacher": "a"}).close()
    assert Journal(tmp_path / "k", {"teacher": "a"}).entries == []
