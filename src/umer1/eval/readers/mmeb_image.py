"""`mmeb_image`: MMEB-V2 image tasks, one row per query with its own candidate list
(qry_inst, qry_text, qry_img_path, tgt_inst, tgt_text[], tgt_img_path[]; the positive is
candidate 0), from parquet or JSONL; ranked locally.

Candidate text as the official loaders build it (docs/mmeb-v2-sources.md section 2.1): a
text-only candidate (classification label, VQA answer, i2t caption) is the raw `tgt_text`,
`tgt_inst` unused; an image candidate (t2i, i2i, grounding) is `tgt_inst` + its `tgt_text`.
`umer1 data prepare` writes the same texts for the official download."""
from __future__ import annotations

from pathlib import Path

from umer1.engine.inputs import EmbedInput
from umer1.eval.readers.common import TaskData, Units, find, join, media, read_revision, read_table
from umer1.utils.errors import InputError

PATTERNS = ("test.jsonl", "test.parquet", "test-*.parquet", "data/test-*.parquet",
            "*.parquet", "*.jsonl")


def read(spec, root: Path, max_queries: int | None = None) -> TaskData:
    base = spec.data_path(root)
    files = find(base, PATTERNS)
    if not files:
        raise InputError("no annotation file (test.jsonl or *.parquet)", file=str(base))
    media_root = spec.media_path(root)
    rows = read_table(files)
    units = Units()
    queries, qids, labels, pools = [], [], [], []
    for file, n, r in rows[:max_queries] if max_queries else rows:
        try:
            q_img = r.get("qry_img_path") or ""
            q = EmbedInput(text=join(r.get("qry_inst") or "", r.get("qry_text") or ""),
                           images=[media(q_img, media_root, "qry_img_path")] if q_img else [])
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
                text = join(r.get("tgt_inst") or "", t or "") if im else (t or "")
                item = EmbedInput(text=text, images=[media(im, media_root, "tgt_img_path")] if im else [])
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
                    num_data=len(rows), revision=spec.revision or read_revision(files[0]),
                    files=[str(f) for f in files])


def missing(spec, root: Path) -> list[str]:
    base = spec.data_path(root)
    out = []
    if not find(base, PATTERNS):
        out.append(f"annotations: {base}/test.jsonl or test-*.parquet")
    if not spec.media_path(root).is_dir():
        out.append(f"image folder: {spec.media_path(root)}")
    return out
