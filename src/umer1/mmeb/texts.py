"""The harness's text assembly, and what UME-R1's collator makes of it.

Converters first build the exact string the official loader builds (with the backbone's vision
tokens), then `ume_text` applies UME-R1's eval collator, so a prepared text is what the published
run fed the model before `"\\n<disc_emb>\\n" + GENERATION_PROMPT` was appended.
"""
from __future__ import annotations

from dataclasses import dataclass, field

IMAGE_TOKEN = "<|image_pad|>"   # V2 src/model/processor.py:62 (Qwen2-VL)
VIDEO_TOKEN = "<|video_pad|>"   # V2 src/model/processor.py:76
PHI3_MARKER = "<|image_1|>"     # left in MMEB_Test_Instruct instructions; every image loader removes it


def process_input_text(instruction: str, text: str | None = None, video: bool = False,
                       image: bool = False) -> str:
    """V2 src/model/processor.py:655-678, the Qwen2-VL branch."""
    prompt = instruction
    if text:
        prompt = prompt + " " + text
    if video:
        prompt = VIDEO_TOKEN + " " + prompt
    if image:
        prompt = IMAGE_TOKEN + " " + prompt
    return prompt


def process_query(query: str, prompt: str, video_token: str = VIDEO_TOKEN) -> str:
    """V2 videomme_dataset.py:10-15 (same in nextqa, egoschema, activitynetqa, mvbench)."""
    return f"{video_token} {prompt} {query}" if prompt else f"{query} {video_token}"


def qa_template(question: str, candidates: list[str], answer) -> tuple[str, list[str], str]:
    """V2 src/utils/vision_utils/vision_utils.py:34-46: question with lettered options, the lettered
    options, and the lettered answer."""
    question = f"{question}\nOptions:\n"
    options, answer_idx = [], -1
    for idx, c in enumerate(candidates):
        question += f"({chr(ord('A') + idx)}) {c}\n"
        options.append(f"({chr(ord('A') + idx)}) {c}")
        if c == answer:
            answer_idx = idx
    return question.rstrip(), options, f"({chr(ord('A') + answer_idx)}) {answer}"


def ume_text(harness_text: str) -> str:
    """LUME src/data/collator/eval_collator.py:217-229 (image), 243-257 (video), 279-298 (text only):
    the vision token is removed and the text stripped before the embedding prompt is appended."""
    return harness_text.replace(VIDEO_TOKEN, "").replace(IMAGE_TOKEN, "").strip()


@dataclass
class Collected:
    """A task's rows in the `retrieval` layout: queries, and the corpus keyed by the official candidate
    name (the harness embeds one vector per name, the first occurrence's content: V2
    src/data/eval_dataset/base_eval_dataset.py:121-152, eval.py:276-278)."""
    queries: list[dict] = field(default_factory=list)
    corpus: dict[str, dict] = field(default_factory=dict)
    conflicts: int = 0      # names seen again with different content (the first one is kept, as the harness)

    def candidate(self, name, row: dict) -> str:
        name = str(name)
        row = {k: v for k, v in row.items() if v not in (None, "")}
        if name not in self.corpus:
            self.corpus[name] = {"id": name, **row}
        elif {k: v for k, v in self.corpus[name].items() if k != "id"} != row:
            self.conflicts += 1
        return name

    def query(self, row: dict, positives, candidates: list[str] | None = None, qid=None) -> None:
        row = {k: v for k, v in row.items() if v not in (None, "")}
        out = {"id": str(len(self.queries) if qid is None else qid), **row, "positives": positives}
        if candidates is not None:
            out["candidates"] = list(dict.fromkeys(candidates))
        self.queries.append(out)
