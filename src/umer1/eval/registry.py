"""The task registry: `TaskSpec` (what a task is and where its files are) from YAML, and
`resolve_tasks` for the forms `--tasks` accepts."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from umer1.eval.metrics import KS, METRIC_NAMES
from umer1.eval.readers import LAYOUTS
from umer1.utils.errors import InputError

MODALITIES = ("image", "video", "visdoc")
RANKINGS = ("local", "global")
DEFAULT_METRIC = {"image": "hit@1", "video": "hit@1", "visdoc": "ndcg_linear@5"}
_METRICS = {f"{m}@{k}" for m in METRIC_NAMES for k in KS}


@dataclass
class TaskSpec:
    """One task of a registry: what it is and where its files are (relative to a data root)."""
    name: str
    modality: str
    meta_task: str
    layout: str
    data: str
    metric: str = ""
    ranking: str = "local"
    media: str | None = None             # root for relative image / frame paths
    query_instruction: str = ""          # prefixed to every query text (beir / retrieval / pairs)
    candidate_instruction: str = ""      # prefixed to every candidate text
    revision: str | None = None          # data revision, recorded with the scores
    source: str = ""                     # the registry file it came from

    def __post_init__(self):
        self.metric = self.metric or DEFAULT_METRIC.get(self.modality, "hit@1")

    def data_path(self, root: Path) -> Path:
        p = Path(self.data)
        return p if p.is_absolute() else root / p

    def media_path(self, root: Path) -> Path:
        if self.media is None:
            data = self.data_path(root)
            return data if data.is_dir() else data.parent
        p = Path(self.media)
        return p if p.is_absolute() else root / p


_KNOWN = set(TaskSpec.__dataclass_fields__) - {"source"}


def load_registry(path: str | Path) -> list[TaskSpec]:
    """Task specs from a YAML file, or from a directory holding `tasks.yaml`."""
    path = Path(path)
    if path.is_dir():
        path = path / "tasks.yaml"
    if not path.is_file():
        raise InputError("no task registry here (a YAML file, or a directory with tasks.yaml)",
                         file=str(path))
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise InputError(f"malformed YAML: {' '.join(str(exc).split())}", file=str(path)) from None
    tasks = doc.get("tasks") if isinstance(doc, dict) else None
    if not isinstance(tasks, list) or not tasks:
        raise InputError("expected a mapping with a non-empty `tasks` list", file=str(path))
    specs, names = [], set()
    for n, entry in enumerate(tasks, start=1):
        specs.append(_spec(entry, str(path), n))
        if specs[-1].name in names:
            raise InputError(f"duplicate task name {specs[-1].name!r}", file=str(path), row=n)
        names.add(specs[-1].name)
    return specs


def _spec(entry: Any, file: str, n: int) -> TaskSpec:
    if not isinstance(entry, dict):
        raise InputError("a task must be a mapping", file=file, row=n)
    unknown = set(entry) - _KNOWN
    if unknown:
        raise InputError(f"unknown keys {sorted(unknown)}", file=file, row=n, field=sorted(unknown)[0])
    for key in ("name", "modality", "meta_task", "layout", "data"):
        if not isinstance(entry.get(key), str) or not entry[key]:
            raise InputError("missing or not a string", file=file, row=n, field=key)
    checks = (("modality", MODALITIES), ("layout", tuple(LAYOUTS)), ("ranking", RANKINGS))
    for key, allowed in checks:
        if key in entry and entry[key] not in allowed:
            raise InputError(f"{entry[key]!r} is not one of {', '.join(allowed)}", file=file, row=n,
                             field=key)
    spec = TaskSpec(**{k: (str(v) if k == "revision" and v is not None else v)
                       for k, v in entry.items()}, source=file)
    if spec.metric not in _METRICS:
        raise InputError(f"unknown metric {spec.metric!r}", file=file, row=n, field="metric")
    return spec


def select(specs: list[TaskSpec], names: list[str] | None) -> list[TaskSpec]:
    """The named tasks in the given order (all when `names` is empty)."""
    if not names:
        return specs
    by_name = {s.name: s for s in specs}
    missing = [n for n in names if n not in by_name]
    if missing:
        raise InputError(f"unknown task(s) {', '.join(missing)}; the registry has "
                         f"{len(specs)} tasks", field="--only")
    return [by_name[n] for n in names]


def resolve_tasks(tasks: str | Path, data_root: str | Path | None = None) -> tuple[list[TaskSpec], Path]:
    """(specs, data root) for `--tasks`: a registry YAML, a directory with tasks.yaml, or a
    directory of `*.jsonl` user tasks in the `pairs` format (one file per task)."""
    path = Path(tasks)
    if path.is_dir() and not (path / "tasks.yaml").is_file():
        files = sorted(path.glob("*.jsonl"))
        if not files:
            raise InputError("the directory has neither tasks.yaml nor *.jsonl task files",
                             file=str(path))
        specs = [TaskSpec(name=f.stem, modality="image", meta_task="custom", layout="pairs",
                          data=str(f.resolve()), ranking="global", source=str(path)) for f in files]
        return specs, Path(data_root) if data_root else path
    specs = load_registry(path)
    root = Path(data_root) if data_root else (path if path.is_dir() else path.parent)
    return specs, root
