"""Task readers, one module per on-disk layout (docs/evaluation.md lists their fields).

A reader returns a `TaskData`: the queries, the ranking units (candidates) and, per query,
its labels with relevances and, for local ranking, its candidate pool. Identical candidates
shared by many rows are ONE unit, so they are embedded once. `LAYOUTS` is the one place a
layout is registered: its reader and its presence check (`umer1 data check`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from umer1.eval.readers import beir, mmeb_image, pairs, retrieval
from umer1.eval.readers.common import TaskData


@dataclass(frozen=True)
class Layout:
    read: Callable[..., TaskData]              # (spec, root, max_queries) -> TaskData
    missing: Callable[..., list[str]]          # (spec, root) -> what is absent, [] if present


LAYOUTS: dict[str, Layout] = {
    "mmeb_image": Layout(mmeb_image.read, mmeb_image.missing),
    "beir": Layout(beir.read, beir.missing),
    "retrieval": Layout(retrieval.read, retrieval.missing),
    "pairs": Layout(pairs.read, pairs.missing),
}

__all__ = ["LAYOUTS", "Layout", "TaskData"]
