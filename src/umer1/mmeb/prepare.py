"""`umer1 data prepare`: official MMEB-V2 sources -> per-task `retrieval` folders + a task registry.

Output under the data root:
  prepared/<instruction set>/<Task>/queries.jsonl, corpus.jsonl, PROVENANCE.json, REVISION
  mmeb_v2_<instruction set>_<ood split>.yaml      the registry `umer1 eval --tasks` reads (78 tasks)
Every text is final (instruction included, UME-R1's strip applied), so the registry carries no
instructions; each row names its image / frame folder relative to the data root.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from umer1.utils.errors import InputError
from umer1.utils.files import atomic_path, write_json, write_jsonl
from umer1.mmeb import image, sources, video, visdoc
from umer1.mmeb.catalog import (DEFAULT_OOD, INSTRUCTION_SETS, LUME_COMMIT, LUME_REPO, OOD_SPLITS, TASKS,
                                V2_COMMIT, V2_REPO, Task, benchmark, instructions)
from umer1.mmeb.texts import Collected

log = logging.getLogger(__name__)


@dataclass
class PrepareOptions:
    root: Path                              # data root: sources in, prepared folders and registry out
    instruction_set: str = "ume-r1"         # ume-r1 (UME-R1's published run) or vlm2vec-current
    ood_split: str | None = None            # original / page-fixed; default: the set's own (DEFAULT_OOD)
    only: list[str] = field(default_factory=list)
    download: bool = False                  # fetch what is missing from the hub first (network)


@dataclass
class PrepareResult:
    registry: Path
    prepared: dict[str, dict]               # task -> counts
    missing: dict[str, list[str]]           # task -> what is missing (with the fetch command last)


def data_dir(task: Task, instruction_set: str) -> str:
    return f"prepared/{instruction_set}/{task.name}"


def registry_name(instruction_set: str, ood_split: str) -> str:
    return f"mmeb_v2_{instruction_set}_{ood_split}.yaml"


def _revision_label(task: Task, sha: str | None, instruction_set: str) -> str:
    """What every score of the task records as its data revision: source, commit, split, instructions."""
    label = f"{task.repo}@{sha or 'unknown'}; split {task.split}; instructions {instruction_set}"
    return label + (f"; ood {task.ood_split}" if task.ood_split else "")


def registry_text(instruction_set: str, ood_split: str, revisions: dict[str, str | None]) -> str:
    """The registry YAML (schema of configs/mmeb_v2/tasks.yaml) plus a `provenance` block that
    `load_registry` ignores."""
    lines = [f"# MMEB-V2, 78 tasks, prepared by `umer1 data prepare --instructions {instruction_set} "
             f"--ood-split {ood_split}`.",
             f"# Official harness: {V2_REPO}@{V2_COMMIT}; UME-R1's copy: {LUME_REPO}@{LUME_COMMIT}.",
             "# Texts in the prepared files are final (instructions included); paths are relative to the data root.",
             "tasks:"]
    prov = {}
    for t in benchmark(ood_split):
        entry = {"name": t.name, "modality": t.modality, "meta_task": t.meta_task, "ranking": t.ranking,
                 "layout": "retrieval", "data": data_dir(t, instruction_set), "media": ".",
                 "revision": _revision_label(t, revisions.get(t.name), instruction_set)}
        lines.append("  - " + yaml.safe_dump(entry, default_flow_style=True, sort_keys=False,
                                             width=10 ** 6).strip())
        prov[t.name] = _provenance(t, instruction_set, revisions.get(t.name))
    body = yaml.safe_dump({"provenance": prov}, sort_keys=False, width=10 ** 6, allow_unicode=True)
    return "\n".join(lines) + "\n" + body


def _provenance(t: Task, instruction_set: str, sha: str | None) -> dict:
    qi, ti = instructions(t, instruction_set)
    out = {"source": t.repo, "config": t.config, "split": t.split, "revision": sha,
           "instruction_set": instruction_set, "ood_split": t.ood_split or "n/a", "cite": t.cite,
           "harness": f"{V2_REPO}@{V2_COMMIT[:7]}" if instruction_set == "vlm2vec-current"
           else f"{LUME_REPO}@{LUME_COMMIT[:7]}"}
    if qi or ti:
        out["instructions"] = {"query": qi, "candidate": ti}
    if t.lume_repo:
        out["lume_source"] = t.lume_repo
    return out


def _collect(t: Task, root: Path, instruction_set: str) -> tuple[Collected, dict]:
    qi, ti = instructions(t, instruction_set)
    media = sources.media_dir(t, root)
    rel = media.relative_to(root).as_posix() if media is not None else t.media[0]
    info = {"media": rel}
    if t.modality == "image":
        rows = sources.read_split(root, t.repo, t.config, t.split)
        return image.convert(t.family, rows, rel, t.name), info
    if t.modality == "video":
        if t.config == "*":       # MVBench: every config, each row tagged with it (V2 src/utils/dataset_utils.py:78-91)
            folder = sources.repo_dir(root, t.repo)
            rows = ((f, n, {**r, "subset": c}) for c in sources.configs_of(folder, t.split)
                    for f, n, r in sources.iter_rows(sources.split_files(folder, c, t.split)))
        else:
            rows = sources.read_split(root, t.repo, t.config, t.split)
        return video.convert(t, rows, rel, qi, ti, root), info
    queries, corpus, qrels = (sources.read_split(root, t.repo, c, t.split) for c in ("queries", "corpus", "qrels"))
    out = visdoc.convert(t.family, queries, corpus, qrels, t.media[0], root, qi, ti, language=t.config)
    return out, {"media": t.media[0]}


def prepare_task(t: Task, root: Path, instruction_set: str) -> dict:
    """Convert one task and write its folder; returns its counts."""
    data, info = _collect(t, root, instruction_set)
    if not data.queries:
        raise InputError(f"{t.name}: no query could be built from {t.repo}", file=str(sources.repo_dir(root, t.repo)))
    sha = sources.revision(root, t.repo)
    folder = root / data_dir(t, instruction_set)
    write_jsonl(folder / "corpus.jsonl", data.corpus.values())
    write_jsonl(folder / "queries.jsonl", data.queries)
    with atomic_path(folder / "REVISION") as tmp:
        tmp.write_text(_revision_label(t, sha, instruction_set) + "\n")
    counts = {"queries": len(data.queries), "candidates": len(data.corpus),
              "name_conflicts": data.conflicts, **info}
    write_json(folder / "PROVENANCE.json", {"task": t.name, **_provenance(t, instruction_set, sha),
                                            "counts": counts})
    if data.conflicts:
        log.warning("%s: %d candidate names recur with different content; the first is kept, as the harness does",
                    t.name, data.conflicts)
    return counts


def prepare(opts: PrepareOptions) -> PrepareResult:
    if opts.instruction_set not in INSTRUCTION_SETS:
        raise InputError(f"unknown instruction set {opts.instruction_set!r}; expected "
                         f"{' or '.join(INSTRUCTION_SETS)}", field="--instructions")
    ood = opts.ood_split or DEFAULT_OOD[opts.instruction_set]
    if ood not in OOD_SPLITS:
        raise InputError(f"unknown OOD split {ood!r}; expected {' or '.join(OOD_SPLITS)}", field="--ood-split")
    root = Path(opts.root)
    tasks = benchmark(ood)
    if opts.only:
        unknown = [n for n in opts.only if n not in TASKS]
        if unknown:
            raise InputError(f"unknown task(s) {', '.join(unknown)}", field="--only")
        tasks = [TASKS[n] for n in opts.only]
    prepared, missing = {}, {}
    for t in tasks:
        if opts.download:
            sources.download(t, root)
        gaps = sources.missing_sources(t, root)
        if gaps:
            missing[t.name] = gaps + [f"fetch: {sources.fetch_command(t, root)}"]
            continue
        prepared[t.name] = prepare_task(t, root, opts.instruction_set)
        log.info("%s: %d queries, %d candidates", t.name, prepared[t.name]["queries"],
                 prepared[t.name]["candidates"])
    revisions = {t.name: sources.revision(root, t.repo) for t in benchmark(ood)}
    registry = root / registry_name(opts.instruction_set, ood)
    with atomic_path(registry) as tmp:
        tmp.write_text(registry_text(opts.instruction_set, ood, revisions), encoding="utf-8")
    return PrepareResult(registry, prepared, missing)
