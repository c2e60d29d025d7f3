"""An append-only, fsynced journal: one JSON line per finished side, keyed by pair id and side.

It is what makes a run exactly-once across kill -9: a side is either in the journal (done, never
asked again) or not (asked again). A line torn by a kill is cut off when the journal is reopened,
before anything is appended after it. The first line is a header with the settings that shape
the answers (teacher, templates, filters); a resumed run must match it.
"""
from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from umer1.utils.errors import InputError

VERSION = 1


class Journal:
    def __init__(self, path: str | Path, header: dict):
        self.path = Path(path)
        self.header = {"journal": VERSION, **header}
        self.entries: list[dict] = []
        self.lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.path.exists():
            self._load()
        fresh = not self.path.exists() or self.path.stat().st_size == 0
        self.fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        if fresh:
            self._write(self.header)
            _fsync_dir(self.path.parent)

    def _load(self) -> None:
        raw = self.path.read_bytes()
        keep = raw.rfind(b"\n") + 1          # a torn last line (kill -9 mid-write) is dropped
        if keep < len(raw):
            with open(self.path, "r+b") as fh:
                fh.truncate(keep)
                os.fsync(fh.fileno())
        if keep == 0:                        # killed while writing the header: start afresh
            return
        lines = raw[:keep].decode("utf-8").splitlines()
        try:
            header = json.loads(lines[0]) if lines else None
        except json.JSONDecodeError:
            header = None
        if not isinstance(header, dict) or header.get("journal") != VERSION:
            raise InputError("not an annotation journal of this version; delete it or pass "
                             "--restart", file=str(self.path))
        for name in sorted(set(header) | set(self.header)):
            if header.get(name) != self.header.get(name):
                raise InputError(f"the journal was written with a different {name} "
                                 f"({header.get(name)!r}, now {self.header.get(name)!r}); use "
                                 "another --output, or pass --restart to discard it",
                                 file=str(self.path))
        for n, line in enumerate(lines[1:], start=2):
            try:
                self.entries.append(json.loads(line))
            except json.JSONDecodeError:
                raise InputError("corrupt journal line", file=str(self.path), row=n) from None

    def _write(self, *objs: dict) -> None:
        data = "".join(json.dumps(o, ensure_ascii=False) + "\n" for o in objs).encode("utf-8")
        view = memoryview(data)
        while view:                       # O_APPEND: each write lands at the end
            view = view[os.write(self.fd, view):]
        os.fsync(self.fd)

    def append(self, *entries: dict) -> None:
        """Append entries with ONE fsync (a group commit when several finish together)."""
        if not entries:
            return
        with self.lock:
            self._write(*entries)
            self.entries.extend(entries)

    def latest(self) -> dict[str, dict]:
        """The last entry of each key (a retried transient error is superseded)."""
        return {e["key"]: e for e in self.entries}

    def close(self) -> None:
        os.close(self.fd)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
