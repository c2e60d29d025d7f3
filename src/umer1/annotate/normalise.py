"""Teacher output -> the SFT answer `<think>REASONING</think><answer>SUMMARY\\n<gen_emb>`.

Teachers differ in shape: some close `</answer>`, some (GLM-4.1V-Thinking) wrap the answer in
`<|begin_of_box|>...<|end_of_box|>`, some servers return the reasoning in a separate field
(joined back by the teacher client), some chat templates pre-fill `<think>` so the text starts
inside the reasoning. All of these normalise to the same answer; anything else is a format
failure with a one-line reason.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from umer1.engine.prompts import DISC_TOKEN, GEN_TOKEN

_STRAY_MARKUP = re.compile(r"<\|begin_of_box\|>|<\|end_of_box\|>")
# Tags that must not survive inside the reasoning or the summary: they would break the
# training target (a second <think>, or an embedding token in the middle of the text).
_FORBIDDEN = ("<think>", "</think>", "<answer>", "</answer>", GEN_TOKEN, DISC_TOKEN,
              "<|im_start|>", "<|im_end|>", "<|endoftext|>")


class FormatError(ValueError):
    """The teacher's text does not have the `<think>...</think><answer>...` shape."""


@dataclass
class Parsed:
    reasoning: str
    summary: str


def parse(text: str) -> Parsed:
    text = _STRAY_MARKUP.sub("", text)
    end = text.find("</think>")
    if end < 0:
        raise FormatError("no </think>")
    start = text.find("<think>", 0, end)
    # A pre-filled `<think>` (not echoed by the server) means the text starts in the reasoning.
    reasoning = text[start + len("<think>") if start >= 0 else 0:end].strip()
    rest = text[end + len("</think>"):]
    m = re.match(r"\s*<answer>(.*?)(?:</answer>|<gen_emb>|$)", rest, re.S)
    if m is None:
        raise FormatError("no <answer> right after </think>")
    summary = m.group(1).strip()
    if not reasoning:
        raise FormatError("empty reasoning")
    if not summary:
        raise FormatError("empty summary")
    for part, name in ((reasoning, "reasoning"), (summary, "summary")):
        for tag in _FORBIDDEN:
            if tag in part:
                raise FormatError(f"{tag} inside the {name}")
    return Parsed(reasoning, summary)


def sft_answer(parsed: Parsed) -> str:
    """The assistant turn of a released SFT record (no `</answer>`, a newline before the token)."""
    return f"<think>{parsed.reasoning}</think><answer>{parsed.summary}\n{GEN_TOKEN}"


def normalise(text: str) -> str:
    return sft_answer(parse(text))
