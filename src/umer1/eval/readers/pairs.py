"""`pairs`: the simplest format for a user's own data, one JSONL file, one row per query with
its positives (and optional negatives: then each query ranks its own, locally)."""
from __future__ import annotations

from pathlib import Path

from umer1.engine.inputs import input_from_row, read_jsonl
from umer1.eval.readers.common import TaskData, Units, read_revision, with_instruction
from umer1.utils.errors import InputError


def read(spec, root: Path, max_queries: int | None = None) -> TaskData:
    path = spec.data_path(root)
    media_root = spec.media_path(root)
    units = Units()
    queries, qids, labels, pools = [], [], [], []
    total = 0
    for n, r in read_jsonl(path):
        total += 1
        try:
            side = r.get("query")
            if not isinstance(side, (dict, str)):
                raise InputError("must be an object {text, image, video} or a string", field="query")
            q = input_from_row(with_instruction(side if isinstance(side, dict) else {"text": side},
                                                spec.query_instruction), media_root)
            pos = _sides(r, "positives", media_root, spec.candidate_instruction, required=True)
            neg = _sides(r, "negatives", media_root, spec.candidate_instruction, required=False)
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
                    revision=spec.revision or read_revision(path), files=[str(path)])


def _sides(r: dict, key: str, media_root: Path, instruction: str, required: bool):
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
        out.append((input_from_row(with_instruction(row, instruction), media_root), float(rel)))
    return out


def missing(spec, root: Path) -> list[str]:
    base = spec.data_path(root)
    return [] if base.is_file() else [f"task file: {base}"]
