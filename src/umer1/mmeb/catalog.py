"""The 78 MMEB-V2 tasks (plus the older OOD page split): the ONE table of per-task rules.

Every value here was read from the official harness or the UME-R1 authors' copy of it; the
comment beside it names file and line. Citation prefixes:
  V2   = TIGER-AI-Lab/VLM2Vec @ 6e1e1d42d4cba85ae4db4d3f7a25cba2465d1e16 (today's harness)
  LUME = Kikcer/lume @ 08891de03839ff93cedd5407b7a81ee0ae836e31, src/eval/VLM2Vec/ (UME-R1's run)
docs/mmeb-v2-sources.md explains each rule; the family converters (image.py, video.py,
visdoc.py) build the texts from the instructions given here.
"""
from __future__ import annotations

from dataclasses import dataclass

V2_REPO, V2_COMMIT = "TIGER-AI-Lab/VLM2Vec", "6e1e1d42d4cba85ae4db4d3f7a25cba2465d1e16"
LUME_REPO, LUME_COMMIT = "Kikcer/lume", "08891de03839ff93cedd5407b7a81ee0ae836e31"
ARCHIVE_REPO = "TIGER-Lab/MMEB-V2"     # image / frame tarballs (V2 experiments/public/data/download_data.sh:56)

# instruction sets: what UME-R1's published run used, and today's harness
INSTRUCTION_SETS = ("ume-r1", "vlm2vec-current")
# OOD page-level split: the one UME-R1 scored, and the one V2 switched to on 2025-11-03 (V2 commit 55b056a)
OOD_SPLITS = ("original", "page-fixed")
# the profile that reproduces each published table (spec section 7)
DEFAULT_OOD = {"ume-r1": "original", "vlm2vec-current": "page-fixed"}


@dataclass(frozen=True)
class Task:
    name: str                 # score-file / registry name
    modality: str             # image | video | visdoc
    meta_task: str
    family: str               # converter: see FAMILIES
    repo: str                 # HF dataset repo of the annotations
    config: str | None        # HF config (subset); for ViDoRe-v2 a language filter (None = all)
    split: str
    cite: str                 # where repo/config/split and the task's config come from
    media: tuple[str, ...] = ()   # image_root / frame_root candidates, relative to the data root
    ranking: str = "local"
    query_instruction: str = ""   # V2 values; image tasks take theirs from the data rows
    candidate_instruction: str = ""
    labels: str | None = None     # video classification: key of video_labels.LABELS
    max_rows: int | None = None   # num_sample_per_subset
    ood_split: str | None = None  # only the four page-level OOD sets differ between splits
    lume_repo: str | None = None  # where LUME's copy reads the annotations when it differs


FAMILIES = ("img_cls", "img_qa", "img_i2t", "img_t2i", "img_i2i_vg", "vid_cls", "vid_ssv2",
            "vid_ret", "vid_videomme", "vid_nextqa", "vid_egoschema", "vid_activitynetqa",
            "vid_mvbench", "vid_mr", "vid_momentseeker", "vidore", "visrag")

# ---- image: ziyjiang/MMEB_Test_Instruct, one config per task, split test, local ranking
# (V2 src/data/eval_dataset/image_cls_dataset.py:39,43; every entry of experiments/public/eval/image.yaml
# has eval_type local and image_root image-tasks/; LUME's image.yaml uses image-tasks/MMEB/)
_IMG_REPO = "ziyjiang/MMEB_Test_Instruct"
_IMG_ROOTS = ("image-tasks", "image-tasks/MMEB")
_IMAGE = [  # (name, meta_task, family, V2 experiments/public/eval/image.yaml lines)
    ("ImageNet-1K", "classification", "img_cls", "2-7"), ("N24News", "classification", "img_cls", "8-13"),
    ("HatefulMemes", "classification", "img_cls", "14-19"), ("VOC2007", "classification", "img_cls", "20-25"),
    ("SUN397", "classification", "img_cls", "26-31"), ("Place365", "classification", "img_cls", "32-37"),
    ("ImageNet-A", "classification", "img_cls", "38-43"), ("ImageNet-R", "classification", "img_cls", "44-49"),
    ("ObjectNet", "classification", "img_cls", "50-55"), ("Country211", "classification", "img_cls", "56-61"),
    ("OK-VQA", "vqa", "img_qa", "63-68"), ("A-OKVQA", "vqa", "img_qa", "69-74"),
    ("DocVQA", "vqa", "img_qa", "75-80"), ("InfographicsVQA", "vqa", "img_qa", "81-86"),
    ("ChartQA", "vqa", "img_qa", "87-92"), ("Visual7W", "vqa", "img_qa", "93-98"),
    ("ScienceQA", "vqa", "img_qa", "99-104"), ("VizWiz", "vqa", "img_qa", "105-110"),
    ("GQA", "vqa", "img_qa", "111-116"), ("TextVQA", "vqa", "img_qa", "117-122"),
    ("VisDial", "retrieval", "img_t2i", "137-142"), ("CIRR", "retrieval", "img_i2i_vg", "174-179"),
    ("VisualNews_t2i", "retrieval", "img_t2i", "149-154"), ("VisualNews_i2t", "retrieval", "img_i2t", "130-135"),
    ("MSCOCO_t2i", "retrieval", "img_t2i", "143-148"), ("MSCOCO_i2t", "retrieval", "img_i2t", "124-129"),
    ("NIGHTS", "retrieval", "img_i2i_vg", "180-185"), ("WebQA", "retrieval", "img_t2i", "155-160"),
    ("FashionIQ", "retrieval", "img_i2i_vg", "192-197"), ("Wiki-SS-NQ", "retrieval", "img_t2i", "167-172"),
    ("OVEN", "retrieval", "img_i2i_vg", "186-191"), ("EDIS", "retrieval", "img_t2i", "161-166"),
    ("MSCOCO", "grounding", "img_i2i_vg", "199-204"), ("RefCOCO", "grounding", "img_i2i_vg", "205-210"),
    ("RefCOCO-Matching", "grounding", "img_i2i_vg", "211-216"),
    ("Visual7W-Pointing", "grounding", "img_i2i_vg", "217-222"),
]

# ---- video instructions
# V2 src/data/eval_dataset/video_classification_utils.py:16-22 (Breakfast's trailing space is in the code)
VIDEO_CLS_INSTRUCTION = {
    "Kinetics-700": "Recognize the category of the video content.",
    "SmthSmthV2": "What actions or object interactions are being performed by the person in the video?",
    "UCF101": "What activities or sports are being performed by the person in the video?",
    "HMDB51": "What actions or objects interactions are the person in the video doing?",
    "Breakfast": "Recognize the breakfast type that the person is cooking in the video. ",
}
# V2 msrvtt_dataset.py:11, msvd_dataset.py:11, didemo_dataset.py:11, vatex_dataset.py:11, youcook2_dataset.py:11,
# moment_retrieval_datasets.py:11
VIDEO_TARGET = "Understand the content of the provided video."
# V2 videomme_dataset.py:18 = nextqa_dataset.py:18 = egoschema_dataset.py:18 = activitynetqa_dataset.py:23
# = mvbench_dataset.py:101 (ends with a space)
VIDEO_QA_PROMPT = ("Given a video and a question, select the most accurate answer from the provided "
                   "candidates. Return only the exact text of your chosen answer. Question: ")
# V2 momentseeker_dataset.py:12-15
MOMENTSEEKER_INSTRUCTION = {
    "text": "Find the clip that corresponds to the given text:",
    "image": "Select the video clip that aligns with the given text and image:",
    "video": "Find the clip that corresponds to the given sentence and video segment:",
    "target": "Understand the content of the provided video clip.",
}
# ---- visual documents: V2 vidore_dataset.py:9-10 = visrag_dataset.py:10-11
VISDOC_QUERY = "Find a document image that matches the given query:"
VISDOC_TARGET = "Understand the content of the provided document image."

_F = "video-tasks/frames"
_VIDEO = [
    # V2 experiments/public/eval/video.yaml lines / src/constant/dataset_hf_path.py line
    Task("K700", "video", "classification", "vid_cls", "VLM2Vec/Kinetics-700", None, "test",
         "V2 video.yaml:28-36; dataset_hf_path.py:15", (f"{_F}/video_cls/K700",), "global",
         VIDEO_CLS_INSTRUCTION["Kinetics-700"], labels="Kinetics-700"),
    Task("SmthSmthV2", "video", "classification", "vid_ssv2", "VLM2Vec/SmthSmthV2", None, "test",
         "V2 video.yaml:1-9 (eval_type local, num_sample_per_subset 1000); dataset_hf_path.py:16",
         (f"{_F}/video_cls/SSv2",), "local", VIDEO_CLS_INSTRUCTION["SmthSmthV2"], max_rows=1000),
    Task("HMDB51", "video", "classification", "vid_cls", "VLM2Vec/HMDB51", None, "test",
         "V2 video.yaml:10-18; dataset_hf_path.py:12", (f"{_F}/video_cls/HMDB51",), "global",
         VIDEO_CLS_INSTRUCTION["HMDB51"], labels="HMDB51"),
    Task("UCF101", "video", "classification", "vid_cls", "VLM2Vec/UCF101", None, "test",
         "V2 video.yaml:19-27; dataset_hf_path.py:13", (f"{_F}/video_cls/UCF101",), "global",
         VIDEO_CLS_INSTRUCTION["UCF101"], labels="UCF101"),
    Task("Breakfast", "video", "classification", "vid_cls", "VLM2Vec/Breakfast", None, "test",
         "V2 video.yaml:37-45; dataset_hf_path.py:14", (f"{_F}/video_cls/Breakfast",), "global",
         VIDEO_CLS_INSTRUCTION["Breakfast"], labels="Breakfast"),
    Task("MVBench", "video", "qa", "vid_mvbench", "VLM2Vec/MVBench", "*", "train",
         "V2 video.yaml:151-158; dataset_hf_path.py:27 (every config, mvbench_dataset.py:24-45,178-179)",
         (f"{_F}/video_qa/MVBench",), "local", VIDEO_QA_PROMPT, lume_repo="OpenGVLab/MVBench"),
    Task("Video-MME", "video", "qa", "vid_videomme", "VLM2Vec/Video-MME", None, "test",
         "V2 video.yaml:127-134; dataset_hf_path.py:28", (f"{_F}/video_qa/Video-MME",), "local",
         VIDEO_QA_PROMPT, lume_repo="lmms-lab/Video-MME"),
    Task("NExTQA", "video", "qa", "vid_nextqa", "VLM2Vec/NExTQA", "MC", "test",
         "V2 video.yaml:135-142; dataset_hf_path.py:25", (f"{_F}/video_qa/NExTQA",), "local",
         VIDEO_QA_PROMPT, lume_repo="lmms-lab/NExTQA"),
    Task("EgoSchema", "video", "qa", "vid_egoschema", "VLM2Vec/EgoSchema", "Subset", "test",
         "V2 video.yaml:143-150; dataset_hf_path.py:26", (f"{_F}/video_qa/EgoSchema",), "local",
         VIDEO_QA_PROMPT, lume_repo="lmms-lab/egoschema"),
    Task("ActivityNetQA", "video", "qa", "vid_activitynetqa", "VLM2Vec/ActivityNetQA", None, "test",
         "V2 video.yaml:159-166; dataset_hf_path.py:29", (f"{_F}/video_qa/ActivityNetQA",), "local",
         VIDEO_QA_PROMPT, lume_repo="video-tasks/data/activitynetqa.jsonl (LUME video.yaml:165)"),
    Task("DiDeMo", "video", "retrieval", "vid_ret", "VLM2Vec/DiDeMo", None, "test",
         "V2 video.yaml:65-73; dataset_hf_path.py:6; didemo_dataset.py:10-11",
         (f"{_F}/video_ret/DiDeMo", f"{_F}/video_ret/DiDeMo/frames"), "global",
         "Find a video that includes the following described scenes:", VIDEO_TARGET,
         lume_repo="friedrichor/DiDeMo"),
    Task("MSR-VTT", "video", "retrieval", "vid_ret", "VLM2Vec/MSR-VTT", "test_1k", "test",
         "V2 video.yaml:47-55; dataset_hf_path.py:4; msrvtt_dataset.py:10-11",
         (f"{_F}/video_ret/MSR-VTT", f"{_F}/video_ret/MSR-VTT/frames"), "global",
         "Find a video that contains the following visual content:", VIDEO_TARGET,
         lume_repo="friedrichor/MSR-VTT"),
    Task("MSVD", "video", "retrieval", "vid_ret", "VLM2Vec/MSVD", None, "test",
         "V2 video.yaml:56-64; dataset_hf_path.py:5; msvd_dataset.py:10-11",
         (f"{_F}/video_ret/MSVD", f"{_F}/video_ret/MSVD/frames"), "global",
         "Find the video snippet that corresponds to the given summary:", VIDEO_TARGET,
         lume_repo="friedrichor/MSVD"),
    Task("VATEX", "video", "retrieval", "vid_ret", "VLM2Vec/VATEX", None, "test",
         "V2 video.yaml:83-91; dataset_hf_path.py:9; vatex_dataset.py:10-11",
         (f"{_F}/video_ret/VATEX", f"{_F}/video_ret/VATEX/frames"), "global",
         "Select a video that fits the description provided:", VIDEO_TARGET, lume_repo="lmms-lab/VATEX"),
    Task("YouCook2", "video", "retrieval", "vid_ret", "lmms-lab/YouCook2", None, "val",
         "V2 video.yaml:74-82; dataset_hf_path.py:8 (VLM2Vec/YouCook2 commented out, :7); youcook2_dataset.py:10-11",
         (f"{_F}/video_ret/YouCook2", f"{_F}/video_ret/YouCook2/frames"), "global",
         "Find a video that demonstrates the following action while making a recipe:", VIDEO_TARGET),
    Task("QVHighlight", "video", "moment_retrieval", "vid_mr", "VLM2Vec/QVHighlight", None, "test",
         "V2 video.yaml:93-104; dataset_hf_path.py:19; moment_retrieval_datasets.py:10-11",
         (f"{_F}/video_mret/QVHighlight",), "local",
         "Find the clip that corresponds to the described scene in the given video:", VIDEO_TARGET),
    Task("Charades-STA", "video", "moment_retrieval", "vid_mr", "VLM2Vec/Charades-STA", None, "test",
         "V2 video.yaml:105-116 (frame_root Charades_STA; LUME video.yaml:111 Charades-STA); dataset_hf_path.py:20",
         (f"{_F}/video_mret/Charades_STA", f"{_F}/video_mret/Charades-STA"), "local",
         "Find the clip that corresponds to the described scene in the given video:", VIDEO_TARGET,
         lume_repo="video-tasks/data/charades_sta.jsonl (LUME video.yaml:108)"),
    Task("MomentSeeker", "video", "moment_retrieval", "vid_momentseeker", "VLM2Vec/MomentSeeker", None, "test",
         "V2 video.yaml:117-125; dataset_hf_path.py:21 (de-duplicated 2025-08-18, V2 commit b3a3c4f)",
         (f"{_F}/video_mret/MomentSeeker",), "local", "", MOMENTSEEKER_INSTRUCTION["target"],
         lume_repo="video-tasks/data/momentseeker.jsonl (LUME video.yaml:121)"),
]

_VISDOC = [
    # (name, meta_task, family, repo, language filter, split, V2 dataset_hf_path.py line, V2 visdoc.yaml lines,
    #  image_root under visdoc-tasks/, ood split)
    ("ViDoRe_arxivqa", "vidore_v1", "vidore", "vidore/arxivqa_test_subsampled_beir", None, "test", 32, "1-5", None),
    ("ViDoRe_docvqa", "vidore_v1", "vidore", "vidore/docvqa_test_subsampled_beir", None, "test", 33, "6-10", None),
    ("ViDoRe_infovqa", "vidore_v1", "vidore", "vidore/infovqa_test_subsampled_beir", None, "test", 34, "11-15", None),
    ("ViDoRe_tabfquad", "vidore_v1", "vidore", "vidore/tabfquad_test_subsampled_beir", None, "test", 35, "16-20", None),
    ("ViDoRe_tatdqa", "vidore_v1", "vidore", "vidore/tatdqa_test_beir", None, "test", 36, "21-25", None),
    ("ViDoRe_shiftproject", "vidore_v1", "vidore", "vidore/shiftproject_test_beir", None, "test", 37, "26-30", None),
    ("ViDoRe_syntheticDocQA_artificial_intelligence", "vidore_v1", "vidore",
     "vidore/syntheticDocQA_artificial_intelligence_test_beir", None, "test", 38, "31-35", None),
    ("ViDoRe_syntheticDocQA_energy", "vidore_v1", "vidore", "vidore/syntheticDocQA_energy_test_beir", None, "test",
     39, "36-40", None),
    ("ViDoRe_syntheticDocQA_government_reports", "vidore_v1", "vidore",
     "vidore/syntheticDocQA_government_reports_test_beir", None, "test", 40, "41-45", None),
    ("ViDoRe_syntheticDocQA_healthcare_industry", "vidore_v1", "vidore",
     "vidore/syntheticDocQA_healthcare_industry_test_beir", None, "test", 41, "46-50", None),
    ("ViDoRe_esg_reports_human_labeled_v2", "vidore_v2", "vidore", "vidore/esg_reports_human_labeled_v2", None,
     "test", 58, "53-57", None),
    # the *_multilingual keys load every language (no filter): V2 dataset_hf_path.py:60,62,64
    ("ViDoRe_biomedical_lectures_v2_multilingual", "vidore_v2", "vidore", "vidore/biomedical_lectures_v2", None,
     "test", 60, "63-67", None),
    ("ViDoRe_economics_reports_v2_multilingual", "vidore_v2", "vidore", "vidore/economics_reports_v2", None,
     "test", 62, "73-77", None),
    ("ViDoRe_esg_reports_v2_multilingual", "vidore_v2", "vidore", "vidore/esg_reports_v2", None, "test", 64,
     "83-87", None),
    # VisRAG is read from split train: V2 dataset_hf_path.py:44-49
    ("VisRAG_ArxivQA", "visrag", "visrag", "openbmb/VisRAG-Ret-Test-ArxivQA", None, "train", 44, "90-94", None),
    ("VisRAG_ChartQA", "visrag", "visrag", "openbmb/VisRAG-Ret-Test-ChartQA", None, "train", 45, "95-99", None),
    ("VisRAG_MP-DocVQA", "visrag", "visrag", "openbmb/VisRAG-Ret-Test-MP-DocVQA", None, "train", 46, "100-104", None),
    ("VisRAG_SlideVQA", "visrag", "visrag", "openbmb/VisRAG-Ret-Test-SlideVQA", None, "train", 47, "105-109", None),
    ("VisRAG_InfoVQA", "visrag", "visrag", "openbmb/VisRAG-Ret-Test-InfoVQA", None, "train", 48, "110-114", None),
    ("VisRAG_PlotQA", "visrag", "visrag", "openbmb/VisRAG-Ret-Test-PlotQA", None, "train", 49, "115-119", None),
    # OOD, page level: V2 dataset_hf_path.py:53,55 point at the fixed sets and report_score_v2.py:142 reports
    # them as *-page-fixed; LUME dataset_hf_path.py:33,35 (what UME-R1 scored) at the originals.
    ("ViDoSeek-page-fixed", "ood", "vidore", "VLM2Vec/ViDoSeek-page-fixed", None, "test", 53, "121-125",
     "page-fixed"),
    ("ViDoSeek-page", "ood", "vidore", "VLM2Vec/ViDoSeek-page", None, "test", "LUME src/data/dataset_hf_path.py:33", "121-125", "original"),
    ("ViDoSeek-doc", "ood", "vidore", "VLM2Vec/ViDoSeek", None, "test", 52, "126-130", None),
    ("MMLongBench-page-fixed", "ood", "vidore", "VLM2Vec/MMLongBench-page-fixed", None, "test", 55, "136-140",
     "page-fixed"),
    ("MMLongBench-page", "ood", "vidore", "VLM2Vec/MMLongBench", None, "test", "LUME src/data/dataset_hf_path.py:35", "136-140", "original"),
    ("MMLongBench-doc", "ood", "vidore", "VLM2Vec/MMLongBench-doc", None, "test", 54, "131-135", None),
]


def _build() -> dict[str, Task]:
    tasks = [Task(n, "image", m, fam, _IMG_REPO, n, "test", f"V2 image.yaml:{lines}", _IMG_ROOTS)
             for n, m, fam, lines in _IMAGE]
    tasks += _VIDEO
    for n, m, fam, repo, lang, split, hf_line, lines, ood in _VISDOC:
        # page images are written under the V2 image_root (vidore_dataset.py:60-63); each OOD split gets its
        # own folder so pages of one split are never reused for the other (V2 writes a page only when absent)
        tasks.append(Task(n, "visdoc", m, fam, repo, lang, split,
                          f"V2 visdoc.yaml:{lines}; " + (f"V2 src/constant/dataset_hf_path.py:{hf_line}"
                                                          if isinstance(hf_line, int) else hf_line),
                          (f"visdoc-tasks/{n}",),
                          "global", VISDOC_QUERY, VISDOC_TARGET, ood_split=ood))
    return {t.name: t for t in tasks}


TASKS: dict[str, Task] = _build()


def instructions(task: Task, instruction_set: str) -> tuple[str, str]:
    """(query, candidate) instruction of a task under an instruction set."""
    if instruction_set not in INSTRUCTION_SETS:
        raise ValueError(instruction_set)
    if instruction_set == "ume-r1" and task.family == "vidore":
        return "", ""     # LUME src/data/eval_dataset/vidore_dataset.py:9-13 (TASK_INST_QRY = TASK_INST_TGT = "")
    return task.query_instruction, task.candidate_instruction


def benchmark(ood_split: str) -> list[Task]:
    """The 78 tasks of one OOD split (image 36, video 18, visdoc 24), grouped by modality."""
    if ood_split not in OOD_SPLITS:
        raise ValueError(ood_split)
    return [t for t in TASKS.values() if t.ood_split in (None, ood_split)]
