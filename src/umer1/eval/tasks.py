"""Evaluation tasks: the registry (YAML) and readers for each on-disk layout.

Layouts (see docs/evaluation.md for the exact fields):
- `mmeb_image`: MMEB-V2 image tasks, one row per query with its own candidate list
  (qry_inst, qry_text, qry_img_path, tgt_inst, tgt_text[], tgt_img_path[]; the positive is
  candidate 0), from parquet or JSONL; ranked locally.
- `beir`: visual-document tasks: queries, corpus (image paths or embedded image bytes) and
  qrels with graded relevance; ranked globally.
- `retrieval`: this project's two-file JSONL format (queries.jsonl + corpus.jsonl), used for
  the video tasks (a `video` field names a folder of frames, 8 are sampled uniformly) and for
  any data of a user's own; global ranking, or local when a query lists `candidates`.
- `pairs`: the simplest format for a user's own data, one JSONL file, one row per query with
  its positives (and optional negatives).
A reader returns a `TaskData`: the queries, the ranking units (candidates) and, per query,
its labels with relevances and, for local ranking, its candidate pool. Identical candidates
shared by many rows are ONE unit, so they are embedded once.
"""
from __future__ import annotations

import csv
import glob
import io
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import yaml
from PIL import Image

from umer1.utils.errors import InputError
from umer1.engine.inputs import EmbedInput, input_from_row, read_jsonl

log = logging.getLogger(__name__)

MODALITIES = ("image", "video", "visdoc")
RANKINGS = ("local", "global")
LAYOUTS = ("mmeb_image", "beir", "retrieval", "pairs")
DEFAULT_METRIC = {"image": "hit@1", "video": "hit@1", "visdoc": "ndcg_linear@5"}
# Phi-3-V style image markers left in some MMEB texts; our prompt places visuals itself.
_IMAGE_MARKERS = ("<|image_1|>", "<image>")


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
            return self.data_path(root) if self.data_path(root).is_dir() else self.data_path(root).parent
        p = Path(self.media)
        return p if p.is_absolute() else root / p


@dataclass
class TaskData:
    """A loaded task: queries, ranking units, labels (unit -> relevance), optional local pools."""
    queries: list[EmbedInput]
    query_ids: list[str]
    candidates: list[EmbedInput]
    candidate_ids: list[str]
    labels: list[dict[int, float]]
    pools: list[list[int]] | None       # None: every query ranks all candidates (global)
    graded: bool = False
    num_data: int = 0                   # queries in the task before --max-queries
    revision: str | None = None
    files: list[str] = field(default_factory=list)


# ----- the registry ----------------------------------------------------------------------------
_KNOWN = {f for f in TaskSpec.__dataclass_fields__} - {"source"}


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
    checks = (("modality", MODALITIES), ("layout", LAYOUTS), ("ranking", RANKINGS))
    for key, allowed in checks:
        if key in entry and entry[key] not in allowed:
            raise InputError(f"{entry[key]!r} is not one of {', '.join(allowed)}", file=file, row=n,
                             field=key)
    spec = TaskSpec(**{k: (str(v) if k == "revision" and v is not None else v)
                       for k, v in entry.items()}, source=file)
    from umer1.eval.metrics import KS, METRIC_NAMES
    valid = {f"{m}@{k}" for m in METRIC_NAMES for k in KS}
    if spec.metric not in valid:
        raise InputError(f"unknown metric {spec.metric!r}", file=file, row=n, field="metric")
    return spec


def select(specs: list[TaskSpec], names: list[str] | None) -> list[TaskSpec]:
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


# ----- shared helpers ---------------------------------------------------------------------------
class _Units:
    """Ranking units de-duplicated by their description (text + visual references)."""

    def __init__(self):
        self.items: list[EmbedInput] = []
        self.ids: list[str] = []
        self._index: dict[Any, int] = {}

    def add(self, item: EmbedInput, uid: str | None = None, key: Any = None) -> int:
        key = key if key is not None else (uid if uid is not None else _describe(item))
        if key not in self._index:
            self._index[key] = len(self.items)
            self.items.append(item)
            self.ids.append(uid if uid is not None else str(len(self.ids)))
        return self._index[key]


def _describe(item: EmbedInput):
    ims = tuple(str(i) if not isinstance(i, Image.Image) else id(i) for i in item.images)
    vid = tuple(str(f) for f in item.video) if item.video else None
    return item.text, ims, vid


def _join(instruction: str, text: str) -> str:
    for marker in _IMAGE_MARKERS:
        text = text.replace(marker, "")
        instruction = instruction.replace(marker, "")
    return " ".join(p for p in (instruction.strip(), text.strip()) if p)


def _find(base: Path, patterns: tuple[str, ...]) -> list[Path]:
    if base.is_file():
        return [base]
    for pat in patterns:
        hits = sorted(Path(p) for p in glob.glob(str(base / pat)))
        if hits:
            return hits
    return []


def _read_table(files: list[Path]) -> list[tuple[str, int, dict]]:
    """(file, row from 1, record) for JSONL or parquet files."""
    rows = []
    for f in files:
        if f.suffix == ".parquet":
            import pyarrow.parquet as pq
            try:
                table = pq.read_table(f).to_pylist()
            except Exception as exc:  # pyarrow raises several types for corrupt files
                raise InputError(f"cannot read parquet: {exc}", file=str(f)) from None
            rows.extend((str(f), n, r) for n, r in enumerate(table, start=1))
        else:
            rows.extend((str(f), n, r) for n, r in read_jsonl(f))
    return rows


def _read_revision(base: Path) -> str | None:
    folder = base if base.is_dir() else base.parent
    for name in ("REVISION", "revision.txt"):
        if (folder / name).is_file():
            return (folder / name).read_text().strip() or None
    return None


def _media(value: Any, media: Path, field_name: str):
    """A path relative to the media root, or an image from embedded bytes (parquet)."""
    if isinstance(value, dict) and value.get("bytes"):
        return _image_from_bytes(value["bytes"], field_name)
    if isinstance(value, (bytes, bytearray)):
        return _image_from_bytes(bytes(value), field_name)
    if isinstance(value, dict) and value.get("path"):
        value = value["path"]
    if not isinstance(value, str) or not value:
        raise InputError("expected an image path or image bytes", field=field_name)
    p = Path(value)
    return str(p if p.is_absolute() else media / p)


def _image_from_bytes(data: bytes, field_name: str):
    import hashlib
    try:
        im = Image.open(io.BytesIO(data))   # lazy: decoded when embedded
    except Exception as exc:
        raise InputError(f"cannot read embedded image bytes: {exc}", field=field_name) from None
    im.info["content_sha1"] = hashlib.sha1(data).hexdigest()  # the cache key of this image
    return im


# ----- mmeb_image ---------------------------------------------------------------------------------
IMAGE_PATTERNS = ("test.jsonl", "test.parquet", "test-*.parquet", "data/test-*.parquet",
                  "*.parquet", "*.jsonl")


def read_mmeb_image(spec: TaskSpec, root: Path, max_queries: int | None = None) -> TaskData:
    base = spec.data_path(root)
    files = _find(base, IMAGE_PATTERNS)
    if not files:
        raise InputError("no annotation file (test.jsonl or *.parquet)", file=str(base))
    media = spec.media_path(root)
    rows = _read_table(files)
    units = _Units()
    queries, qids, labels, pools = [], [], [], []
    for file, n, r in rows[:max_queries] if max_queries else rows:
        try:
            q_img = r.get("qry_img_path") or ""
            q = EmbedInput(text=_join(r.get("qry_inst") or "", r.get("qry_text") or ""),
                           images=[_media(q_img, media, "qry_img_path")] if q_img else [])
            texts, imgs = r.get("tgt_text") or [], r.get("tgt_img_path") or []
            if isinstance(texts, str) or isinstance(imgs, str):
                bad = "tgt_text" if isinstance(texts, str) else "tgt_img_path"
                raise InputError("must be a list", field=bad)
            count = max(len(texts), len(imgs))
            if count == 0:
                raise InputError("a query needs at least one candidate", field="tgt_text")
            if texts and imgs and len(texts) != len(imgs):
                raise InputError(f"{len(texts)} texts but {len(imgs)} images", field="tgt_img_path")
            pool = []
            for j in range(count):
                t = texts[j] if j < len(texts) else ""
                im = imgs[j] if j < len(imgs) else ""
                item = EmbedInput(text=_join(r.get("tgt_inst") or "", t or ""),
                                  images=[_media(im, media, "tgt_img_path")] if im else [])
                if item.is_empty():
                    raise InputError(f"candidate {j} is empty", field="tgt_text")
                u = units.add(item)
                if u not in pool:      # a candidate repeated in a row is ranked once
                    pool.append(u)
            if q.is_empty():
                raise InputError("empty query", field="qry_text")
        except InputError as exc:
            raise exc.located(file=file, row=n) from None
        queries.append(q)
        qids.append(str(len(qids)))
        labels.append({pool[0]: 1.0})
        pools.append(pool)
    return TaskData(queries, qids, units.items, units.ids, labels, pools, graded=False,
                    num_data=len(rows), revision=spec.revision or _read_revision(files[0]),
                    files=[str(f) for f in files])


# ----- beir -------------------------------------------------------------------------------------
def _one(base: Path, stems: tuple[str, ...]) -> Path | None:
    for stem in stems:
        hits = _find(base, (f"{stem}.jsonl", f"{stem}.parquet", f"{stem}/*.parquet",
                            f"{stem}/test-*.parquet", f"{stem}/*.jsonl"))
        if hits:
            return hits[0] if len(hits) == 1 else hits  # type: ignore[return-value]
    return None


def beir_files(base: Path) -> dict[str, Any]:
    return {"queries": _one(base, ("queries",)), "corpus": _one(base, ("corpus",)),
            "qrels": _one(base, ("qrels/test", "qrels")) or
            next(iter(_find(base, ("qrels/test.tsv", "qrels.tsv", "qrels/*.tsv"))), None)}


def _get(r: dict, names: tuple[str, ...], field_name: str, required: bool = True):
    for name in names:
        if r.get(name) not in (None, ""):
            return r[name]
    if required:
        raise InputError("missing", field=field_name)
    return None


def _as_list(x) -> list[Path]:
    return x if isinstance(x, list) else [x]


def read_beir(spec: TaskSpec, root: Path, max_queries: int | None = None) -> TaskData:
    base = spec.data_path(root)
    found = beir_files(base)
    missing = [k for k, v in found.items() if v is None]
    if missing:
        raise InputError(f"BEIR layout incomplete: no {', '.join(missing)}", file=str(base))
    media = spec.media_path(root)
    units = _Units()
    for file, n, r in _read_table(_as_list(found["corpus"])):
        try:
            cid = str(_get(r, ("corpus-id", "_id", "id", "doc-id"), "corpus-id"))
            img = _get(r, ("image", "image_path", "img_path"), "image", required=False)
            text = _get(r, ("text", "title"), "text", required=False) or ""
            item = EmbedInput(text=_join(spec.candidate_instruction, str(text)),
                              images=[_media(img, media, "image")] if img is not None else [])
            if item.is_empty():
                raise InputError("a document needs an image or a text", field="image")
        except InputError as exc:
            raise exc.located(file=file, row=n) from None
        units.add(item, uid=cid)
    qrels: dict[str, dict[int, float]] = {}
    cand_index = {cid: i for i, cid in enumerate(units.ids)}
    for file, n, r in _read_qrels(_as_list(found["qrels"])):
        try:
            qid = str(_get(r, ("query-id", "query_id", "qid"), "query-id"))
            cid = str(_get(r, ("corpus-id", "corpus_id", "doc-id", "docid"), "corpus-id"))
            try:
                score = float(r.get("score", 1))
            except (TypeError, ValueError):
                raise InputError(f"not a number: {r.get('score')!r}", field="score") from None
            if cid not in cand_index:
                raise InputError(f"corpus id {cid!r} is not in the corpus", field="corpus-id")
        except InputError as exc:
            raise exc.located(file=file, row=n) from None
        rel = qrels.setdefault(qid, {})
        rel[cand_index[cid]] = max(rel.get(cand_index[cid], score), score)
    queries, qids, labels = [], [], []
    q_rows = _read_table(_as_list(found["queries"]))
    judged = 0
    for file, n, r in q_rows:
        try:
            qid = str(_get(r, ("query-id", "_id", "id", "qid"), "query-id"))
            text = str(_get(r, ("query", "text"), "query"))
            img = _get(r, ("image", "image_path"), "image", required=False)
        except InputError as exc:
            raise exc.located(file=file, row=n) from None
        if qid not in qrels:     # BEIR: queries without judgements are not evaluated
            continue
        judged += 1
        if max_queries and len(queries) >= max_queries:
            continue
        queries.append(EmbedInput(text=_join(spec.query_instruction, text),
                                  images=[_media(img, media, "image")] if img is not None else []))
        qids.append(qid)
        labels.append(qrels[qid])
    if not judged:
        raise InputError("no query has relevance judgements", file=str(base))
    return TaskData(queries, qids, units.items, units.ids, labels, None, graded=True,
                    num_data=judged, revision=spec.revision or _read_revision(base),
                    files=[str(f) for v in found.values() for f in _as_list(v)])


def _read_qrels(files: list[Path]):
    for f in files:
        if f.suffix != ".tsv":
            yield from _read_table([f])
            continue
        try:
            fh = f.open(encoding="utf-8", newline="")
        except OSError as exc:
            raise InputError(f"cannot open: {exc.strerror}", file=str(f)) from None
        with fh:
            reader = csv.reader(fh, delimiter="\t")
            for n, cols in enumerate(reader, start=1):
                if not cols or (n == 1 and cols[0] in ("query-id", "query_id", "qid")):
                    continue
                if len(cols) < 2:
                    raise InputError("expected query-id, corpus-id[, score]", file=str(f), row=n)
                yield str(f), n, {"query-id": cols[0], "corpus-id": cols[1],
                                  "score": cols[2] if len(cols) > 2 else 1}


# ----- retrieval (two-file JSONL; video tasks and users' data) -------------------------------------
def _with_instruction(row: dict, instruction: str) -> dict:
    row = dict(row)
    row["text"] = _join(instruction, row.get("text") or "")
    return row


def retrieval_files(base: Path) -> dict[str, Path | None]:
    return {k: (base / f"{k}.jsonl") if (base / f"{k}.jsonl").is_file() else None
            for k in ("queries", "corpus")}


def read_retrieval(spec: TaskSpec, root: Path, max_queries: int | None = None) -> TaskData:
    base = spec.data_path(root)
    found = retrieval_files(base)
    missing = [k for k, v in found.items() if v is None]
    if missing:
        raise InputError(f"missing {', '.join(m + '.jsonl' for m in missing)}", file=str(base))
    media = spec.media_path(root)
    units = _Units()
    for n, r in read_jsonl(found["corpus"]):
        try:
            cid = r.get("id")
            if not isinstance(cid, (str, int)) or cid == "":
                raise InputError("every candidate needs an id", field="id")
            if str(cid) in units._index:
                raise InputError(f"duplicate id {cid!r}", field="id")
            units.add(input_from_row(_with_instruction(r, spec.candidate_instruction), media), uid=str(cid))
        except InputError as exc:
            raise exc.located(file=str(found["corpus"]), row=n) from None
    index = {cid: i for i, cid in enumerate(units.ids)}
    queries, qids, labels, pools = [], [], [], []
    total, local = 0, spec.ranking == "local"
    for n, r in read_jsonl(found["queries"]):
        total += 1
        if max_queries and len(queries) >= max_queries:
            continue
        try:
            q = input_from_row(_with_instruction(r, spec.query_instruction), media)
            lab = _labels(r, index)
            pool = None
            if "candidates" in r:
                if not isinstance(r["candidates"], list) or not r["candidates"]:
                    raise InputError("must be a non-empty list of corpus ids", field="candidates")
                pool = [_lookup(index, c, "candidates") for c in dict.fromkeys(map(str, r["candidates"]))]
                if not set(lab) <= set(pool):
                    raise InputError("a positive is not among the query's candidates", field="candidates")
            elif local:
                raise InputError("this task ranks locally: each query needs `candidates`",
                                 field="candidates")
        except InputError as exc:
            raise exc.located(file=str(found["queries"]), row=n) from None
        queries.append(q)
        qids.append(str(r.get("id", total)))
        labels.append(lab)
        pools.append(pool)
    if not total:
        raise InputError("no queries", file=str(found["queries"]))
    has_pool = [p is not None for p in pools]
    if any(has_pool) and not all(has_pool):
        raise InputError("either every query lists `candidates` (local ranking) or none does",
                         file=str(found["queries"]))
    graded = any(v != 1.0 for lab in labels for v in lab.values())
    return TaskData(queries, qids, units.items, units.ids, labels,
                    pools if pools and all(has_pool) else None, graded=graded, num_data=total,
                    revision=spec.revision or _read_revision(base),
                    files=[str(found["queries"]), str(found["corpus"])])


def _lookup(index: dict, cid, field_name: str) -> int:
    if str(cid) not in index:
        raise InputError(f"id {cid!r} is not in corpus.jsonl", field=field_name)
    return index[str(cid)]


def _labels(r: dict, index: dict) -> dict[int, float]:
    pos = r.get("positives", r.get("positive"))
    if isinstance(pos, (str, int)):
        pos = [pos]
    if isinstance(pos, dict):   # {corpus id: graded relevance}
        try:
            return {_lookup(index, k, "positives"): float(v) for k, v in pos.items()}
        except (TypeError, ValueError):
            raise InputError("relevances must be numbers", field="positives") from None
    if not isinstance(pos, list) or not pos:
        raise InputError("needs positives: a corpus id, a list of ids or {id: relevance}",
                         field="positives")
    return {_lookup(index, p, "positives"): 1.0 for p in pos}


# ----- pairs (one file: query + positives [+ negatives]) ------------------------------------------
def read_pairs(spec: TaskSpec, root: Path, max_queries: int | None = None) -> TaskData:
    path = spec.data_path(root)
    media = spec.media_path(root)
    units = _Units()
    queries, qids, labels, pools = [], [], [], []
    total = 0
    for n, r in read_jsonl(path):
        total += 1
        try:
            side = r.get("query")
            if not isinstance(side, (dict, str)):
                raise InputError("must be an object {text, image, video} or a string", field="query")
            q = input_from_row(_with_instruction(side if isinstance(side, dict) else {"text": side},
                                                 spec.query_instruction), media)
            pos = _sides(r, "positives", media, spec.candidate_instruction, required=True)
            neg = _sides(r, "negatives", media, spec.candidate_instruction, required=False)
        except InputError as exc:
            raise exc.located(file=str(path), row=n) from None
        if max_queries and len(queries) >= max_queries:
            continue
        lab = {units.add(it): rel for it, rel in pos}
        queries.append(q)
        qids.append(str(r.get("id", n)))
        labels.append(lab)
        pools.append(list(dict.fromkeys(list(lab) + [units.add(it) for it, _ in neg])) if neg else None)
    if not total:
        raise InputError("no queries (the file is empty)", file=str(path))
    local = [p is not None for p in pools]
    if any(local) and not all(local):
        raise InputError("either every row has negatives (local ranking) or none has (global "
                         "ranking over all positives)", file=str(path))
    graded = any(v != 1.0 for lab in labels for v in lab.values())
    return TaskData(queries, qids, units.items, units.ids, labels,
                    pools if pools and all(local) else None, graded=graded, num_data=total,
                    revision=spec.revision or _read_revision(path), files=[str(path)])


def _sides(r: dict, key: str, media: Path, instruction: str, required: bool):
    value = r.get(key, r.get(key[:-1]))
    if value is None and not required:
        return []
    if isinstance(value, (dict, str)):
        value = [value]
    if not isinstance(value, list) or (required and not value):
        raise InputError("must be a non-empty list of {text, image, video} objects", field=key)
    out = []
    for j, side in enumerate(value):
        side = {"text": side} if isinstance(side, str) else side
        if not isinstance(side, dict):
            raise InputError(f"item {j} must be an object or a string", field=key)
        rel = side.get("relevance", 1.0)
        if not isinstance(rel, (int, float)):
            raise InputError(f"item {j}: relevance must be a number", field=key)
        row = {k: v for k, v in side.items() if k != "relevance"}
        out.append((input_from_row(_with_instruction(row, instruction), media), float(rel)))
    return out


READERS: dict[str, Callable[..., TaskData]] = {
    "mmeb_image": read_mmeb_image, "beir": read_beir, "retrieval": read_retrieval, "pairs": read_pairs}


def load_task(spec: TaskSpec, root: str | Path, max_queries: int | None = None) -> TaskData:
    """Read a task's files; bad rows raise InputError naming file, row and field."""
    data = READERS[spec.layout](spec, Path(root), max_queries)
    if spec.ranking == "global" and data.pools is not None and spec.layout != "pairs":
        log.info("%s: queries list their own candidates, so ranking is local", spec.name)
    if spec.ranking == "local" and data.pools is None and spec.layout in ("mmeb_image",):
        raise InputError("local ranking needs per-query candidates", file=spec.source)
    return data


# ----- presence check (umer1 data check) ---------------------------------------------------------
def check_presence(spec: TaskSpec, root: str | Path, deep: bool = False) -> list[str]:
    """What is missing for a task (empty list = present). `deep` also checks every media file."""
    root = Path(root)
    base = spec.data_path(root)
    missing: list[str] = []
    if spec.layout == "mmeb_image":
        if not _find(base, IMAGE_PATTERNS):
            missing.append(f"annotations: {base}/test.jsonl or test-*.parquet")
        if not spec.media_path(root).is_dir():
            missing.append(f"image folder: {spec.media_path(root)}")
    elif spec.layout == "beir":
        for k, v in beir_files(base).items():
            if v is None:
                alt = " or qrels/test.tsv" if k == "qrels" else ""
                missing.append(f"{k}: {base}/{k}.jsonl or {k}.parquet{alt}")
    elif spec.layout == "retrieval":
        missing += [f"{k}: {base}/{k}.jsonl" for k, v in retrieval_files(base).items() if v is None]
        if spec.media is not None and not spec.media_path(root).is_dir():
            missing.append(f"media folder: {spec.media_path(root)}")
    elif not base.is_file():
        missing.append(f"task file: {base}")
    if deep and not missing:
        missing += _missing_media(spec, root)
    return missing


def _missing_media(spec: TaskSpec, root: Path, show: int = 3) -> list[str]:
    try:
        data = load_task(spec, root)
    except InputError as exc:
        return [f"unreadable: {exc.one_line()}"]
    absent: list[str] = []
    for item in data.queries + data.candidates:
        for p in list(item.images) + list(item.video or []):
            if isinstance(p, str) and not Path(p).is_file():
                absent.append(p)
    if not absent:
        return []
    absent = sorted(set(absent))
    more = f" (and {len(absent) - show} more)" if len(absent) > show else ""
    return [f"{len(absent)} media files, e.g. {', '.join(absent[:show])}{more}"]
