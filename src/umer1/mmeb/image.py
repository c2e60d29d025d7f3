"""MMEB-V2 image tasks (ziyjiang/MMEB_Test_Instruct rows) -> `retrieval` rows, ranked locally.

Columns: qry_inst, qry_text, qry_img_path, tgt_inst, tgt_text[], tgt_img_path[]; candidate 0 is the
positive. Line numbers: V2 src/data/eval_dataset/<loader>.py at 6e1e1d4.
"""
from __future__ import annotations

import posixpath

from umer1.utils.errors import InputError
from umer1.mmeb.texts import PHI3_MARKER, IMAGE_TOKEN, Collected, process_input_text, ume_text


def _query(family: str, r: dict, image_root: str, task: str) -> dict:
    inst = r["qry_inst"]
    if family == "img_t2i":
        # image_t2i_eval.py:18-22: marker -> image token, no query image, VisDial gets one more "\n"
        text = inst.replace(PHI3_MARKER, IMAGE_TOKEN) + " " + r["qry_text"] + "\n"
        if task == "VisDial":
            text += "\n"
        return {"text": ume_text(text)}
    if family in ("img_qa", "img_i2i_vg"):
        inst = "\n" + inst.replace(PHI3_MARKER, "").strip()   # image_qa_dataset.py:17, image_i2i_vg_dataset.py:17
    else:
        inst = inst.replace(PHI3_MARKER, "")                  # image_cls_dataset.py:17, image_i2t_eval.py:17
    # image_cls_dataset.py:18-20 (same in the other three): " \n" -> "\n" "to stay consistent with v1 eval"
    text = process_input_text(inst, text=r["qry_text"], image=True).replace(" \n", "\n") + "\n"
    return {"text": ume_text(text), "image": posixpath.join(image_root, r["qry_img_path"])}


def _targets(family: str, r: dict, image_root: str) -> list[tuple[str, dict]]:
    """(official candidate name, candidate row) for each candidate of the row."""
    texts = list(r["tgt_text"])
    if family in ("img_cls", "img_qa", "img_i2t"):
        # image_cls_dataset.py:26-29, image_qa_dataset.py:26-29, image_i2t_eval.py:26-29: the raw tgt_text,
        # no instruction, no image; the name is the text itself
        return [(t, {"text": ume_text(t)}) for t in texts]
    paths = list(r["tgt_img_path"])
    inst = r["tgt_inst"].replace(PHI3_MARKER, "")
    if texts and texts[0].strip():
        # image_t2i_eval.py:26-33 (WebQA, EDIS), image_i2i_vg_dataset.py:27-34 (RefCOCO-Matching)
        cand = [process_input_text(inst + " " + t, text="", image=True).replace(" \n", "\n") + "\n" for t in texts]
    else:
        # image_t2i_eval.py:35-38, image_i2i_vg_dataset.py:36-39: the instruction alone for every candidate
        cand = [process_input_text(inst, text="", image=True).replace(" \n", "\n")] * len(paths)
    if family == "img_t2i":
        names = paths                                            # image_t2i_eval.py:43-46
    else:
        names = [p + ":" + c.strip('"') for p, c in zip(paths, texts)]   # image_i2i_vg_dataset.py:44-49
    return [(n, {"text": ume_text(c), "image": posixpath.join(image_root, p)})
            for n, c, p in zip(names, cand, paths)]


def convert(family: str, rows, image_root: str, task: str) -> Collected:
    out = Collected()
    for file, n, r in rows:
        try:
            for col in ("qry_inst", "qry_text", "tgt_text") + (("tgt_inst", "tgt_img_path")
                                                               if family in ("img_t2i", "img_i2i_vg") else ()):
                if r.get(col) is None:
                    raise InputError("missing column", field=col)
            if not r["tgt_text"] and not r.get("tgt_img_path"):
                raise InputError("a row needs candidates", field="tgt_text")
            q = _query(family, r, image_root, task)
            names = [out.candidate(name, row) for name, row in _targets(family, r, image_root)]
        except InputError as exc:
            raise exc.located(file=file, row=n) from None
        # the label is candidate 0's name (image_cls_dataset.py:30, image_t2i_eval.py:45, image_i2i_vg_dataset.py:48)
        out.query(q, [names[0]], names)
    return out
