"""The paper's filters over teacher outputs: format, reasoning length in tokens, repetition loops.

Each output gets a verdict with ONE reason (the first filter it fails) so the summary can count
drops per reason. Lengths and repetitions are measured in tokens of a chosen tokenizer (by
default the Qwen2-VL one the student trains with).
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Callable, Sequence

import numpy as np

from umer1.annotate.normalise import FormatError, parse, sft_answer

REASONS = ("truncated", "format", "reasoning_too_long", "repetition")


@dataclass
class FilterConfig:
    max_reasoning_tokens: int = 8192   # the paper's cap
    max_repeat_span: int = 64          # a periodic stretch this many tokens long is a loop
    max_repeat_period: int = 16        # periods 1..16 tokens (a token, a word, a short phrase)

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class Verdict:
    answer: str | None             # the normalised SFT answer when kept
    reason: str | None = None      # one of REASONS when dropped
    detail: str = ""
    reasoning_tokens: int = 0

    @property
    def ok(self) -> bool:
        return self.reason is None


def longest_periodic_span(ids: Sequence[int], max_period: int) -> tuple[int, int]:
    """(length in tokens, period) of the longest stretch where token i equals token i - period.

    A stretch of r matching positions covers r + period tokens: the pattern and its repeats.
    """
    a = np.asarray(ids, dtype=np.int64)
    best = (0, 0)
    for p in range(1, min(max_period, len(a) // 2) + 1):
        eq = np.concatenate(([0], (a[p:] == a[:-p]).astype(np.int8), [0]))
        edges = np.flatnonzero(np.diff(eq))
        if len(edges):
            run = int((edges[1::2] - edges[::2]).max())
            if run >= p and run + p > best[0]:   # at least two full copies of the pattern
                best = (run + p, p)
    return best


class Filters:
    """`encode(text) -> token ids` is used for lengths and for repetition detection."""

    def __init__(self, config: FilterConfig, encode: Callable[[str], list[int]]):
        self.config = config
        self.encode = encode

    def check(self, text: str, finish_reason: str | None = None) -> Verdict:
        try:
            parsed = parse(text)
        except FormatError as exc:
            if finish_reason == "length":   # cut off by the token cap: say so, not "format"
                return Verdict(None, "truncated", f"stopped at the token cap ({exc})")
            return Verdict(None, "format", str(exc))
        reasoning_ids = self.encode(parsed.reasoning)
        n = len(reasoning_ids)
        if n > self.config.max_reasoning_tokens:
            return Verdict(None, "reasoning_too_long",
                           f"{n} reasoning tokens > {self.config.max_reasoning_tokens}", n)
        for part, ids in (("reasoning", reasoning_ids), ("summary", self.encode(parsed.summary))):
            span, period = longest_periodic_span(ids, self.config.max_repeat_period)
            if span >= self.config.max_repeat_span:
                return Verdict(None, "repetition",
                               f"{span} tokens repeating with period {period} in the {part}", n)
        return Verdict(sft_answer(parsed), reasoning_tokens=n)


def tokenizer_encoder(tokenizer) -> Callable[[str], list[int]]:
    """A thread-safe `encode` from a transformers tokenizer (its Rust backend when it has one)."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        return lambda text: backend.encode(text, add_special_tokens=False).ids
    import threading
    lock = threading.Lock()

    def encode(text: str) -> list[int]:
        with lock:
            return tokenizer(text, add_special_tokens=False)["input_ids"]
    return encode


def load_encoder(spec: str) -> Callable[[str], list[int]]:
    """'qwen' (the Qwen2-VL tokenizer, built offline) or a directory holding a tokenizer."""
    if spec == "qwen":
        from umer1.engine.vocab import build_tokenizer
        return tokenizer_encoder(build_tokenizer("qwen"))
    from transformers import AutoTokenizer
    from umer1.utils.errors import InputError
    try:
        tok = AutoTokenizer.from_pretrained(spec)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot load a tokenizer: {str(exc).splitlines()[0]}",
                         field="--tokenizer") from None
    return tokenizer_encoder(tok)
