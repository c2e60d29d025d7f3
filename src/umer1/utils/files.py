"""File output that is all-or-nothing: write to a temporary file beside the target, then rename.

Temporary files are created with mode 0666 less the user's umask, as `open` would create the
target (mkstemp's 0600 would leave every output readable by its owner only).
"""
from __future__ import annotations

import contextlib
import json
import os
import secrets
from pathlib import Path
from typing import Iterable, Iterator

from umer1.utils.errors import InputError


def _temp_beside(path: Path) -> Path:
    """A new empty file next to `path`; the kernel applies the umask to its 0o666 mode."""
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(f"no free temporary name next to {path}")


@contextlib.contextmanager
def atomic_paths(*paths: str | Path) -> Iterator[list[Path]]:
    """Temporary paths for several outputs that belong together: every one is written before
    any is renamed into place, and on error all of them are removed."""
    targets = [Path(p) for p in paths]
    tmps: list[Path] = []
    try:
        for path in targets:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmps.append(_temp_beside(path))
        yield tmps
        for tmp, path in zip(tmps, targets):
            os.replace(tmp, path)
    except BaseException:
        for tmp in tmps:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path; on success it replaces `path`, on error it is removed."""
    with atomic_paths(path) as (tmp,):
        yield tmp


def check_writable(path: str | Path, field: str | None = None) -> None:
    """Fail now, not after hours of work, when `path` cannot be written: creates and removes a
    temporary file in its folder, and the folders on the way that the real write would create
    (so a refused run leaves nothing behind)."""
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path} is a folder, not a file", field=field)
    blocking = next((p for p in path.parents if p.exists()), None)
    if blocking is not None and not blocking.is_dir():
        raise InputError(f"cannot write {path}: {blocking} is a file, not a folder", field=field)
    missing = [p for p in path.parents if not p.exists()]     # deepest first
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        os.unlink(_temp_beside(path))
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}", field=field) from None
    finally:
        for folder in missing:
            with contextlib.suppress(OSError):
                folder.rmdir()


def write_json(path: str | Path, obj) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_jsonl(path: str | Path, rows: Iterable[dict]) -> None:
    with atomic_path(path) as tmp, tmp.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, ensure_ascii=False) + "\n")


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes (to tell whether a resumed job reads the same data)."""
    import hashlib
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror or exc}", file=str(path)) from None
    return h.hexdigest()
