"""Loading tasks: each task's files are read once per run, every bad row reported before a
model is loaded; and the presence check behind `umer1 data check`."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterator, Sequence

from umer1.eval.readers import LAYOUTS, TaskData
from umer1.eval.registry import TaskSpec
from umer1.utils.errors import InputError

log = logging.getLogger(__name__)


def load_task(spec: TaskSpec, root: str | Path, max_queries: int | None = None) -> TaskData:
    """Read a task's files; bad rows raise InputError naming file, row and field."""
    data = LAYOUTS[spec.layout].read(spec, Path(root), max_queries)
    if spec.ranking == "global" and data.pools is not None and spec.layout != "pairs":
        log.info("%s: queries list their own candidates, so ranking is local", spec.name)
    return data


class LoadedTasks:
    """Tasks read up front (a bad row fails before a model is loaded), handed out one by one;
    each task's data is released once handed out, so a run holds less and less."""

    def __init__(self, specs: Sequence[TaskSpec], root: str | Path, max_queries: int | None = None):
        self.specs = list(specs)
        self._data = {s.name: load_task(s, root, max_queries) for s in self.specs}

    def __iter__(self) -> Iterator[tuple[TaskSpec, TaskData]]:
        for spec in self.specs:
            yield spec, self._data.pop(spec.name)


def iter_tasks(tasks: LoadedTasks | Sequence[TaskSpec], root: str | Path,
               max_queries: int | None = None) -> Iterator[tuple[TaskSpec, TaskData]]:
    """(spec, data) per task, each read once: from `LoadedTasks`, or read as it comes."""
    if isinstance(tasks, LoadedTasks):
        yield from tasks
        return
    for spec in tasks:
        yield spec, load_task(spec, root, max_queries)


def check_presence(spec: TaskSpec, root: str | Path, deep: bool = False) -> list[str]:
    """What is missing for a task (empty list = present). `deep` also reads the task and
    checks every media file it references."""
    root = Path(root)
    missing = LAYOUTS[spec.layout].missing(spec, root)
    if deep and not missing:
        missing += _missing_media(spec, root)
    return missing


def _missing_media(spec: TaskSpec, root: Path, show: int = 3) -> list[str]:
    try:
        data = load_task(spec, root)
    except InputError as exc:
        return [f"unreadable: {exc.one_line()}"]
    absent: set[str] = set()
    for item in data.queries + data.candidates:
        for p in list(item.images) + list(item.video or []):
            if isinstance(p, str) and not Path(p).is_file():
                absent.add(p)
    if not absent:
        return []
    shown = sorted(absent)
    more = f" (and {len(shown) - show} more)" if len(shown) > show else ""
    return [f"{len(shown)} media files, e.g. {', '.join(shown[:show])}{more}"]
