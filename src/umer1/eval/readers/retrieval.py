"""`retrieval`: this project's two-file JSONL format (queries.jsonl + corpus.jsonl), used for the
video tasks (a `video` field names a folder of frames, 8 are sampled uniformly) and for any
data of a user's own; global ranking, or local when every query lists `candidates`."""
from __future__ import annotations

from pathlib import Path

from umer1.engine.inputs import input_from_row, read_jsonl
from umer1.eval.readers.common import TaskData, Units, read_revision, with_instruction
from umer1.utils.errors import InputError


def files(base: Path) -> dict[str, Path | None]:
    return {k: (base / f"{k}.jsonl") if (base / f"{k}.jsonl").is_file() else None
            for k in ("queries", "corpus")}


def read(spec, root: Path, max_queries: int | None = None) -> TaskData:
    base = spec.data_path(root)
    found = files(base)
    absent = [k for k, v in found.items() if v is None]
    if absent:
        raise InputError(f"missing {', '.join(m + '.jsonl' for m in absent)}", file=str(base))
    media_root = spec.media_path(root)
    units = Units()
    for n, r in read_jsonl(found["corpus"]):
        try:
            cid = r.get("id")
            if not isinstance(cid, (str, int)) or cid == "":
                raise InputError("every candidate needs an id", field="id")
            if str(cid) in units:
                raise InputError(f"duplicate id {cid!r}", field="id")
            units.add(input_from_row(with_instruction(r, spec.candidate_instruction), media_root),
                      uid=str(cid))
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
            q = input_from_row(with_instruction(r, spec.query_instruction), media_root)
            lab = labels_of(r, index)
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
                    revision=spec.revision or read_revision(base),
                    files=[str(found["queries"]), str(found["corpus"])])


def _lookup(index: dict, cid, field_name: str) -> int:
    if str(cid) not in index:
        raise InputError(f"id {cid!r} is not in corpus.jsonl", field=field_name)
    return index[str(cid)]


def labels_of(r: dict, index: dict) -> dict[int, float]:
    """A query row's positives: a corpus id, a list of ids, or {id: graded relevance}."""
    pos = r.get("positives", r.get("positive"))
    if isinstance(pos, (str, int)):
        pos = [pos]
    if isinstance(pos, dict):
        try:
            return {_lookup(index, k, "positives"): float(v) for k, v in pos.items()}
        except (TypeError, ValueError):
            raise InputError("relevances must be numbers", field="positives") from None
    if not isinstance(pos, list) or not pos:
        raise InputError("needs positives: a corpus id, a list of ids or {id: relevance}",
                         field="positives")
    return {_lookup(index, p, "positives"): 1.0 for p in pos}


def missing(spec, root: Path) -> list[str]:
    base = spec.data_path(root)
    out = [f"{k}: {base}/{k}.jsonl" for k, v in files(base).items() if v is None]
    if spec.media is not None and not spec.media_path(root).is_dir():
        out.append(f"media folder: {spec.media_path(root)}")
    return out
