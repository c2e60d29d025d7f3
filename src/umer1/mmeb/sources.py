"""Where the official sources lie under a data root, how to read them, and how to fetch them.

Layout of a data root (what `download` produces, and what `--from` expects):
  hf/<owner>/<name>/          a dataset repo as `huggingface_hub.snapshot_download(local_dir=...)` writes it
  image-tasks/...             TIGER-Lab/MMEB-V2 image-tasks/mmeb_v1.tar.gz unpacked (MMEB/ kept or moved up)
  video-tasks/frames/...      the MMEB-V2 frame archives unpacked as V2 experiments/public/data/download_data.sh:63-71
Parquet and JSONL are read with pyarrow / json; no `datasets` dependency.
"""
from __future__ import annotations

import glob
import io
import json
import tarfile
from pathlib import Path
from typing import Iterator

import yaml

from umer1.utils.errors import InputError
from umer1.mmeb.catalog import ARCHIVE_REPO, TASKS, Task

# MMEB-V2 archives per media group (V2 experiments/public/data/download_data.sh:57-70): (files in the
# TIGER-Lab/MMEB-V2 repo, folder they unpack into, relative to the data root)
ARCHIVES = {
    "image": (["image-tasks/mmeb_v1.tar.gz"], "image-tasks"),
    "video_cls": (["video-tasks/frames/video_cls.tar.gz"], "video-tasks/frames/video_cls"),
    "video_ret": (["video-tasks/frames/video_ret.tar.gz"], "video-tasks/frames/video_ret"),
    "video_mret": (["video-tasks/frames/video_mret.tar.gz"], "video-tasks/frames"),
    "video_qa": ([f"video-tasks/frames/video_qa.tar.gz-0{i}" for i in range(5)], "video-tasks/frames"),
}


def archive_group(task: Task) -> str | None:
    if task.modality == "image":
        return "image"
    if task.modality == "video":
        return task.media[0].split("/")[2]      # video-tasks/frames/<group>/...
    return None                                  # visdoc pages come inside the parquet files


def repo_dir(root: Path, repo: str) -> Path:
    return Path(root) / "hf" / repo


def media_dir(task: Task, root: Path) -> Path | None:
    """The first of the task's image / frame roots that exists (folder names differ between V2 and LUME)."""
    for rel in task.media:
        if (Path(root) / rel).is_dir():
            return Path(root) / rel
    return None


# ----- finding the files of one (repo, config, split) -------------------------------------------
def _card_configs(folder: Path) -> dict[str, dict[str, list[str]]]:
    """config -> split -> path patterns, from the `configs:` block of the dataset card (as `datasets` reads it)."""
    card = folder / "README.md"
    if not card.is_file():
        return {}
    text = card.read_text(encoding="utf-8", errors="replace")
    if not text.startswith("---"):
        return {}
    try:
        meta = yaml.safe_load(text.split("---", 2)[1]) or {}
    except yaml.YAMLError:
        return {}
    out: dict[str, dict[str, list[str]]] = {}
    for entry in meta.get("configs") or []:
        files = entry.get("data_files") or []
        files = [files] if isinstance(files, (str, dict)) else files
        splits: dict[str, list[str]] = {}
        for f in files:
            if isinstance(f, str):
                splits.setdefault("train", []).append(f)
            else:
                paths = f.get("path")
                splits.setdefault(f.get("split", "train"), []).extend(
                    [paths] if isinstance(paths, str) else list(paths or []))
        out[str(entry.get("config_name", "default"))] = splits
    return out


def _conventional(config: str | None, split: str) -> list[str]:
    if config:
        return [f"{config}/{split}-*.parquet", f"{config}/{split}.parquet", f"{config}/{split}.jsonl",
                f"data/{config}/{split}-*.parquet", f"{config}/*{split}*.parquet", f"{config}/{split}/*.parquet"]
    return [f"data/{split}-*.parquet", f"{split}-*.parquet", f"data/{split}.parquet", f"{split}.parquet",
            f"{split}.jsonl", f"data/{split}.jsonl", f"data/*{split}*.parquet", f"*{split}*.parquet"]


def split_files(folder: Path, config: str | None, split: str) -> list[Path]:
    """The parquet / JSONL files of a config's split in a downloaded dataset repo (empty if absent)."""
    cards = _card_configs(folder)
    name = config or ("default" if "default" in cards else None)
    patterns = cards.get(name, {}).get(split) if name in cards else None
    for pat in patterns or _conventional(config, split):
        hits = sorted(Path(p) for p in glob.glob(str(folder / pat), recursive=True)
                      if p.endswith((".parquet", ".jsonl")))
        if hits:
            return hits
    return []


def configs_of(folder: Path, split: str) -> list[str]:
    """Every config of a repo that has the split (MVBench: one per sub-task, V2 mvbench_dataset.py:24-45)."""
    cards = _card_configs(folder)
    names = list(cards) if cards else sorted(p.name for p in folder.iterdir()
                                              if p.is_dir() and not p.name.startswith("."))
    return [n for n in names if split_files(folder, n, split)]


def iter_rows(files: list[Path]) -> Iterator[tuple[str, int, dict]]:
    """(file, row from 1, record), streamed in batches so page images are not all held at once."""
    for f in files:
        if f.suffix == ".jsonl":
            with f.open(encoding="utf-8") as fh:
                for n, line in enumerate(fh, start=1):
                    if line.strip():
                        try:
                            yield str(f), n, json.loads(line)
                        except json.JSONDecodeError as exc:
                            raise InputError(f"malformed JSON: {exc.msg}", file=str(f), row=n) from None
            continue
        import pyarrow.parquet as pq
        try:
            pf = pq.ParquetFile(f)
        except Exception as exc:   # pyarrow raises several types for a corrupt file
            raise InputError(f"cannot read parquet: {exc}", file=str(f)) from None
        n = 0
        for batch in pf.iter_batches(batch_size=256):
            for rec in batch.to_pylist():
                n += 1
                yield str(f), n, rec


def read_split(root: Path, repo: str, config: str | None, split: str) -> Iterator[tuple[str, int, dict]]:
    folder = repo_dir(root, repo)
    files = split_files(folder, config, split)
    if not files:
        raise InputError(f"no {split} split{' of config ' + config if config else ''} in {repo}",
                         file=str(folder))
    return iter_rows(files)


def revision(root: Path, repo: str) -> str | None:
    """The commit a repo was downloaded at: a REVISION file, else the hub's download metadata."""
    folder = repo_dir(root, repo)
    if (folder / "REVISION").is_file():
        return (folder / "REVISION").read_text().strip() or None
    for meta in sorted((folder / ".cache" / "huggingface" / "download").rglob("*.metadata")):
        line = meta.read_text().splitlines()[:1]
        if line and line[0].strip():
            return line[0].strip()
    return None


# ----- presence (for `umer1 data check`) ------------------------------------------------------------
def _needed(task: Task) -> list[tuple[str | None, str]]:
    """(config, split) pairs a task reads."""
    if task.family in ("vidore", "visrag"):
        return [(c, task.split) for c in ("queries", "corpus", "qrels")]   # V2 vidore_dataset.py:84-88
    if task.config == "*":
        return []     # MVBench: any config with the split (checked below)
    return [(task.config, task.split)]


def _task(task: Task | str) -> Task:
    if isinstance(task, Task):
        return task
    if task not in TASKS:
        raise InputError(f"{task!r} is not an MMEB-V2 task", field="task")
    return TASKS[task]


def missing_sources(task: Task | str, root: str | Path) -> list[str]:
    """What `prepare` needs for this task (a Task or its name) and does not find under `root`
    (empty: all there)."""
    task, root = _task(task), Path(root)
    folder = repo_dir(root, task.repo)
    out = []
    if not folder.is_dir():
        out.append(f"annotations: dataset repo {task.repo} in {folder}")
    elif task.config == "*":
        if not configs_of(folder, task.split):
            out.append(f"annotations: no config of {task.repo} has split {task.split} in {folder}")
    else:
        for config, split in _needed(task):
            if not split_files(folder, config, split):
                out.append(f"annotations: {task.repo} {config or ''} split {split} in {folder}".replace("  ", " "))
    if task.media and task.modality != "visdoc" and media_dir(task, root) is None:
        out.append(f"media: one of {', '.join(str(root / m) for m in task.media)}")
    return out


def fetch_command(task: Task | str, root: str | Path) -> str:
    """The one command that fetches what the task needs and prepares it."""
    task = _task(task)
    return f"umer1 data prepare --root {root} --download --only {task.name}"


def source_hints(name: str, root: str | Path) -> list[str]:
    """For `umer1 data check`: what preparing an MMEB-V2 task still lacks, and the command that
    prepares it ([] for a task this converter does not know)."""
    if name not in TASKS:
        return []
    gaps = missing_sources(name, root)
    command = fetch_command(name, root) if gaps else f"umer1 data prepare --root {root} --only {name}"
    return gaps + [f"run: {command}"]


# ----- download (hub) --------------------------------------------------------------------------------
def download(task: Task, root: Path, revision_: str | None = None) -> None:
    """Fetch the task's annotation repo and, for image / video tasks, its MMEB-V2 archive, and unpack it.
    Needs network access; never run by the tests."""
    from huggingface_hub import snapshot_download
    folder = repo_dir(root, task.repo)
    if not folder.is_dir():
        # annotations only: some repos also hold the raw videos (lmms-lab/Video-MME: 2 x 26.7 GB of zips)
        path = snapshot_download(task.repo, repo_type="dataset", revision=revision_, local_dir=folder,
                                 allow_patterns=["README.md", "*.parquet", "*.jsonl", "*.json"])
        sha = revision(root, task.repo)
        if sha:
            (Path(path) / "REVISION").write_text(sha + "\n")
    group = archive_group(task)
    if group and media_dir(task, root) is None:
        files, dest = ARCHIVES[group]
        snapshot_download(ARCHIVE_REPO, repo_type="dataset", local_dir=root, allow_patterns=files)
        unpack([root / f for f in files], root / dest)


class _Concat(io.RawIOBase):
    """The parts of a split archive read as one stream (`cat video_qa.tar.gz-0{0..4} | tar -xz`)."""

    def __init__(self, parts: list[Path]):
        self._parts = [p.open("rb") for p in parts]

    def readable(self):
        return True

    def readinto(self, b):
        while self._parts:
            n = self._parts[0].readinto(b)
            if n:
                return n
            self._parts.pop(0).close()
        return 0


def unpack(parts: list[Path], dest: Path) -> None:
    """Extract a (possibly split) .tar.gz into dest, refusing members that would escape it."""
    marker = dest / f".{parts[0].name}.unpacked"
    if marker.is_file():
        return
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BufferedReader(_Concat(parts)), mode="r|gz") as tar:
        for member in tar:
            target = (dest / member.name).resolve()
            if not str(target).startswith(str(dest.resolve())) or member.issym() or member.islnk():
                raise InputError(f"unsafe archive member {member.name!r}", file=str(parts[0]))
            tar.extract(member, dest)
    marker.write_text("\n".join(p.name for p in parts) + "\n")
