"""MMEB-V2 video tasks -> `retrieval` rows; a `video` value is a frame folder relative to the data root
(the evaluator lists it in natural order and samples 8 frames, docs/mmeb-v2-sources.md section 4a).
Line numbers: V2 src/data/eval_dataset/<loader>.py at 6e1e1d4."""
from __future__ import annotations

import os
import posixpath
from pathlib import Path

from umer1.utils.errors import InputError
from umer1.engine.inputs import natural_key
from umer1.mmeb.catalog import MOMENTSEEKER_INSTRUCTION, Task
from umer1.mmeb.texts import Collected, process_input_text, process_query, qa_template, ume_text
from umer1.mmeb.video_labels import LABELS

_COLUMNS = {
    "vid_cls": ("video_id", "pos_text"),                                   # video_classification_datasets.py:21
    "vid_ssv2": ("video_id", "pos_text", "neg_text"),                      # ssv2_dataset.py:20-21
    "vid_videomme": ("question", "videoID", "options", "answer"),          # videomme_dataset.py:30-31
    "vid_nextqa": ("video", "question", "answer", "a0", "a1", "a2", "a3", "a4"),   # nextqa_dataset.py:30-31
    "vid_egoschema": ("video_idx", "question", "answer", "option"),        # egoschema_dataset.py:30-31
    "vid_activitynetqa": ("video_name", "question", "answer"),             # activitynetqa_dataset.py:34-35
    "vid_mvbench": ("subset", "question", "video", "candidates", "answer"),    # mvbench_dataset.py:112-113
    "vid_mr": ("query", "video_path"),                                     # moment_retrieval_datasets.py:25
    "vid_momentseeker": ("query", "positive_frames", "negative_frames", "input_frames"),  # momentseeker_dataset.py:26-27
}
# video retrieval: (name column or rule, caption column, take caption[0]); V2 msrvtt_dataset.py:21-24,
# msvd_dataset.py:21-23, didemo_dataset.py:21-28, vatex_dataset.py:21-23, youcook2_dataset.py:21-23
_RETRIEVAL = {"MSR-VTT": ("video_id", "caption", False), "MSVD": ("video_id", "caption", True),
              "DiDeMo": ("video", "caption", False), "VATEX": ("videoID", "enCap", True),
              "YouCook2": ("id", "sentence", False)}
_QA_LETTERS = ["A", "B", "C", "D"]          # videomme_dataset.py:19, egoschema_dataset.py:19


def _cut_letter(o: str) -> str:
    return o[o.find('. '):].strip('. ')     # videomme_dataset.py:63, egoschema_dataset.py:64 (kept verbatim)


def _row(task: Task, r: dict, frames: str, qi: str, ti: str, out: Collected, root: Path) -> None:
    fam = task.family
    v = lambda *parts: posixpath.join(frames, *map(str, parts))   # noqa: E731 (a frame folder)
    if fam in ("vid_cls", "vid_ssv2"):
        # video_classification_datasets.py:27, ssv2_dataset.py:28: instruction + video, no other text
        q = {"text": ume_text(process_input_text(qi, video=True)), "video": v(r["video_id"])}
        if fam == "vid_cls":        # candidate = the bare label (:34-38); pool = label list + row labels
            out.query(q, [out.candidate(r["pos_text"], {"text": ume_text(r["pos_text"])})])
        else:                       # ssv2_dataset.py:35-39: the row's own options, local
            names = [out.candidate(t, {"text": ume_text(t)}) for t in r["neg_text"]]
            out.query(q, [str(r["pos_text"])], names)
        return
    if fam == "vid_ret":
        name_col, cap_col, first = _RETRIEVAL[task.name]
        name = r[name_col]
        if task.name == "DiDeMo":
            name = os.path.splitext(os.path.basename(name))[0]
        cap = r[cap_col][0] if first else r[cap_col]
        q = {"text": ume_text(process_input_text(qi, text=cap))}
        c = out.candidate(name, {"text": ume_text(process_input_text(ti, video=True)), "video": v(name)})
        out.query(q, [c])
        return
    if fam in ("vid_videomme", "vid_egoschema"):
        opts = list(r["options" if fam == "vid_videomme" else "option"])
        if fam == "vid_videomme":
            text = process_query(r["question"] + "\n" + "\n".join(opts), qi)       # videomme_dataset.py:32
            label, folder = opts[_QA_LETTERS.index(r["answer"])], r["videoID"]    # :35, :69-72
        else:
            text = process_query(r["question"] + " ".join(opts), qi)               # egoschema_dataset.py:32
            label, folder = opts[int(r["answer"])], r["video_idx"]               # :36, :70-73
        names = [out.candidate(o, {"text": ume_text(_cut_letter(o))}) for o in opts]
        out.query({"text": ume_text(text), "video": v(folder)}, [label], names)
        return
    if fam == "vid_nextqa":
        opts = [r[f"a{i}"] for i in range(5)]
        text, _, _ = qa_template(process_query(r["question"], qi), opts, r["answer"])   # nextqa_dataset.py:32-34
        names = [out.candidate(o, {"text": ume_text(o)}) for o in opts]                # :65 raw options
        out.query({"text": ume_text(text), "video": v(r["video"])}, [str(opts[int(r["answer"])])], names)
        return
    if fam == "vid_activitynetqa":
        text = process_query(r["question"] + "? (A) yes; (B) no.", qi)          # activitynetqa_dataset.py:36
        names = [out.candidate(o, {"text": o}) for o in ("yes", "no")]         # :24, :67
        out.query({"text": ume_text(text), "video": v(f"v_{r['video_name']}")}, [str(r["answer"])], names)
        return
    if fam == "vid_mvbench":
        text, opts, label = qa_template(process_query(r["question"], qi), list(r["candidates"]), r["answer"])
        names = [out.candidate(o, {"text": ume_text(o)}) for o in opts]        # mvbench_dataset.py:116-117,150
        out.query({"text": ume_text(text), "video": v(r["subset"], r["video"])}, [label], names)   # :119
        return
    if fam == "vid_mr":
        # moment_retrieval_datasets.py:27-76: query frames in <video>/query, candidates = every other sub-folder,
        # the one named positive* is the label; names are the folder paths
        name = os.path.splitext(os.path.basename(r["video_path"]))[0]
        q = {"text": ume_text(process_input_text(qi, text=r["query"], video=True)), "video": v(name, "query")}
        folder = root / frames / name
        if not folder.is_dir():
            raise InputError(f"no clip folder {folder}", field="video_path")
        clips = sorted((p.name for p in folder.iterdir() if p.is_dir() and p.name != "query"), key=natural_key)
        ctext = ume_text(process_input_text(ti, video=True))
        names = [out.candidate(v(name, c), {"text": ctext, "video": v(name, c)}) for c in clips]
        positives = [v(name, c) for c in clips if c.startswith("positive")]
        if not positives:
            raise InputError(f"no clip folder named positive* in {folder}", field="video_path")
        out.query(q, positives, names)
        return
    if fam == "vid_momentseeker":
        inp = r["input_frames"] or ""
        if inp.endswith(".mp4"):        # momentseeker_dataset.py:29-45
            q = {"text": process_input_text(MOMENTSEEKER_INSTRUCTION["video"], text=r["query"], video=True),
                 "video": v("video_frames", inp.split(".mp4")[0].replace("/", "_"))}
        elif inp.endswith(".jpg"):      # :46-53
            q = {"text": process_input_text(MOMENTSEEKER_INSTRUCTION["image"], text=r["query"], image=True),
                 "image": v(f"query_{inp}")}
        else:                           # :54-56
            q = {"text": process_input_text(MOMENTSEEKER_INSTRUCTION["text"], text=r["query"])}
        q["text"] = ume_text(q["text"])
        ctext = ume_text(process_input_text(ti, video=True))
        pos = [v("video_frames", e["output_path"].replace("/", "_").split(".mp4")[0]) for e in r["positive_frames"]]
        neg = [v("video_frames", e["output_path"].replace("/", "_").split(".mp4")[0]) for e in r["negative_frames"]]
        names = [out.candidate(p, {"text": ctext, "video": p}) for p in pos + neg]   # :58-89
        out.query(q, pos, names)                                                   # labels: every positive
        return
    raise ValueError(fam)


def convert(task: Task, rows, frames: str, qi: str, ti: str, root: Path) -> Collected:
    out = Collected()
    for file, n, r in rows:
        if task.max_rows is not None and len(out.queries) >= task.max_rows:
            break          # num_sample_per_subset: the first N rows (V2 src/utils/dataset_utils.py:7-17)
        try:
            cols = _RETRIEVAL[task.name][:2] if task.family == "vid_ret" else _COLUMNS.get(task.family, ())
            for col in cols:
                if r.get(col) is None:
                    raise InputError("missing column", field=col)
            _row(task, r, frames, qi, ti, out, root)
        except InputError as exc:
            raise exc.located(file=file, row=n) from None
        except KeyError as exc:
            raise InputError("missing column", file=file, row=n, field=str(exc.args[0])) from None
        except (IndexError, ValueError, TypeError) as exc:
            raise InputError(f"cannot convert this row ({type(exc).__name__}: {exc})", file=file, row=n) from None
    if task.labels:     # the class list joins the global pool (video_classification_datasets.py:61-64)
        for label in LABELS[task.labels]:
            out.candidate(label, {"text": ume_text(label)})
    return out
