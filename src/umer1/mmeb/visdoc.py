"""MMEB-V2 visual-document tasks (BEIR configs queries / corpus / qrels) -> `retrieval` rows, global ranking
with graded relevance. Page images are written as files where the official loaders write them, so both
harnesses can share one tree. Line numbers: V2 src/data/eval_dataset/{vidore,visrag}_dataset.py at 6e1e1d4.
"""
from __future__ import annotations

import hashlib
import io
import os
import posixpath
from pathlib import Path

from PIL import Image

from umer1.utils.errors import InputError
from umer1.utils.files import atomic_path
from umer1.mmeb.texts import Collected, process_input_text, ume_text

_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".bmp": "BMP",
            ".tif": "TIFF", ".tiff": "TIFF", ".gif": "GIF"}


def page_name(family: str, corpus_id) -> str:
    """vidore: `<corpus-id>.png` (vidore_dataset.py:60); visrag: the name's stem cut to 50 characters +
    "_" + md5(name)[:8] + its extension (visrag_dataset.py:64-67)."""
    if family == "vidore":
        return f"{corpus_id}.png"
    base, ext = os.path.splitext(str(corpus_id))
    return base[:50] + "_" + hashlib.md5(str(corpus_id).encode("utf-8")).hexdigest()[:8] + ext


def write_page(image, path: Path) -> None:
    """The page as the loader's `image.save(path)` would leave it: bytes kept when already in the format the
    extension names, else decoded and re-encoded. Skipped when the file exists (as the loaders do)."""
    if path.is_file():
        return
    data = image.get("bytes") if isinstance(image, dict) else image
    if not isinstance(data, (bytes, bytearray)):
        raise InputError("expected an image (bytes)", field="image")
    fmt = _FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(f"cannot write a page named {path.name!r}: unknown image extension", field="corpus-id")
    try:
        im = Image.open(io.BytesIO(data))
        keep = im.format == fmt
    except Exception as exc:    # PIL raises several types for bad bytes
        raise InputError(f"cannot read the page image: {exc}", field="image") from None
    with atomic_path(path) as tmp:
        if keep:
            tmp.write_bytes(bytes(data))
        else:
            im.save(tmp, format=fmt)


def qrels(rows) -> dict[str, dict[str, float]]:
    """query-id -> {corpus-id: score}, only score > 0, a repeated pair keeping its maximum
    (V2 src/utils/dataset_utils.py:20-43)."""
    out: dict[str, dict[str, float]] = {}
    for file, n, r in rows:
        try:
            qid, cid, score = str(r["query-id"]), str(r["corpus-id"]), float(r["score"])
        except (KeyError, TypeError, ValueError):
            raise InputError("expected query-id, corpus-id and a numeric score", file=file, row=n) from None
        if score > 0:
            rel = out.setdefault(qid, {})
            rel[cid] = max(rel.get(cid, score), score)
    return out


def convert(family: str, queries, corpus, qrel_rows, page_root: str, root: Path, qi: str, ti: str,
            language: str | None = None) -> Collected:
    out = Collected()
    judged = qrels(qrel_rows)
    ctext = ume_text(process_input_text(ti, image=True))      # vidore_dataset.py:64, visrag_dataset.py:72
    for file, n, r in corpus:
        try:
            cid = r["corpus-id"]
            name = posixpath.join(page_root, page_name(family, cid))
            write_page(r.get("image"), root / name)
        except KeyError:
            raise InputError("missing column", file=file, row=n, field="corpus-id") from None
        except InputError as exc:
            raise exc.located(file=file, row=n) from None
        out.candidate(cid, {"text": ctext, "image": name})    # corpus text is never used (vidore_dataset.py:54-75)
    for file, n, r in queries:
        if language and r.get("language") != language:
            continue            # ViDoRe-v2 English subsets filter the queries only (vidore_dataset.py:85-86)
        qid = str(r.get("query-id"))
        if qid not in judged:
            # the harness raises KeyError here (vidore_dataset.py:28); a BEIR query without a positive judgement
            # is skipped instead, and counted in the manifest
            continue
        missing = [c for c in judged[qid] if c not in out.corpus]
        if missing:
            raise InputError(f"judged page {missing[0]!r} is not in the corpus", file=file, row=n, field="query-id")
        out.query({"text": ume_text(process_input_text(qi, text=r["query"]))}, dict(judged[qid]), qid=qid)
    return out
