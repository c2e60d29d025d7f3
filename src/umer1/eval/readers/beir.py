"""`beir`: visual-document tasks: queries, corpus (image paths or embedded image bytes) and
qrels with graded relevance; ranked globally. Queries without judgements are not evaluated."""
from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from umer1.engine.inputs import EmbedInput
from umer1.eval.readers.common import TaskData, Units, find, join, media, read_revision, read_table
from umer1.utils.errors import InputError


def _one(base: Path, stems: tuple[str, ...]) -> list[Path] | None:
    for stem in stems:
        hits = find(base, (f"{stem}.jsonl", f"{stem}.parquet", f"{stem}/*.parquet",
                           f"{stem}/test-*.parquet", f"{stem}/*.jsonl"))
        if hits:
            return hits
    return None


def files(base: Path) -> dict[str, list[Path] | None]:
    """The queries, corpus and qrels files of a BEIR folder (None where absent)."""
    return {"queries": _one(base, ("queries",)), "corpus": _one(base, ("corpus",)),
            "qrels": _one(base, ("qrels/test", "qrels")) or
            (find(base, ("qrels/test.tsv", "qrels.tsv", "qrels/*.tsv"))[:1] or None)}


def _get(r: dict, names: tuple[str, ...], field_name: str, required: bool = True) -> Any:
    for name in names:
        if r.get(name) not in (None, ""):
            return r[name]
    if required:
        raise InputError("missing", field=field_name)
    return None


def read(spec, root: Path, max_queries: int | None = None) -> TaskData:
    base = spec.data_path(root)
    found = files(base)
    absent = [k for k, v in found.items() if v is None]
    if absent:
        raise InputError(f"BEIR layout incomplete: no {', '.join(absent)}", file=str(base))
    media_root = spec.media_path(root)
    units = Units()
    for file, n, r in read_table(found["corpus"]):
        try:
            cid = str(_get(r, ("corpus-id", "_id", "id", "doc-id"), "corpus-id"))
            img = _get(r, ("image", "image_path", "img_path"), "image", required=False)
            text = _get(r, ("text", "title"), "text", required=False) or ""
            item = EmbedInput(text=join(spec.candidate_instruction, str(text)),
                              images=[media(img, media_root, "image")] if img is not None else [])
            if item.is_empty():
                raise InputError("a document needs an image or a text", field="image")
        except InputError as exc:
            raise exc.located(file=file, row=n) from None
        units.add(item, uid=cid)
    qrels = _qrels(found["qrels"], {cid: i for i, cid in enumerate(units.ids)})
    queries, qids, labels = [], [], []
    judged = 0
    for file, n, r in read_table(found["queries"]):
        try:
            qid = str(_get(r, ("query-id", "_id", "id", "qid"), "query-id"))
            text = str(_get(r, ("query", "text"), "query"))
            img = _get(r, ("image", "image_path"), "image", required=False)
        except InputError as exc:
            raise exc.located(file=file, row=n) from None
        if qid not in qrels:
            continue
        judged += 1
        if max_queries and len(queries) >= max_queries:
            continue
        queries.append(EmbedInput(text=join(spec.query_instruction, text),
                                  images=[media(img, media_root, "image")] if img is not None else []))
        qids.append(qid)
        labels.append(qrels[qid])
    if not judged:
        raise InputError("no query has relevance judgements", file=str(base))
    return TaskData(queries, qids, units.items, units.ids, labels, None, graded=True,
                    num_data=judged, revision=spec.revision or read_revision(base),
                    files=[str(f) for v in found.values() for f in v])


def _qrels(paths: list[Path], cand_index: dict[str, int]) -> dict[str, dict[int, float]]:
    """query id -> {candidate unit: relevance}; a pair listed twice keeps its highest score."""
    qrels: dict[str, dict[int, float]] = {}
    for file, n, r in _read_qrels(paths):
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
    return qrels


def _read_qrels(paths: list[Path]):
    for f in paths:
        if f.suffix != ".tsv":
            yield from read_table([f])
            continue
        try:
            fh = f.open(encoding="utf-8", newline="")
        except OSError as exc:
            raise InputError(f"cannot open: {exc.strerror}", file=str(f)) from None
        with fh:
            for n, cols in enumerate(csv.reader(fh, delimiter="\t"), start=1):
                if not cols or (n == 1 and cols[0] in ("query-id", "query_id", "qid")):
                    continue
                if len(cols) < 2:
                    raise InputError("expected query-id, corpus-id[, score]", file=str(f), row=n)
                yield str(f), n, {"query-id": cols[0], "corpus-id": cols[1],
                                  "score": cols[2] if len(cols) > 2 else 1}


def missing(spec, root: Path) -> list[str]:
    base = spec.data_path(root)
    out = []
    for k, v in files(base).items():
        if v is None:
            alt = " or qrels/test.tsv" if k == "qrels" else ""
            out.append(f"{k}: {base}/{k}.jsonl or {k}.parquet{alt}")
    return out
