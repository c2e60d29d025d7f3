"""The two embedding modes and the generation parameters: defined once, used by every caller.

Every sampling parameter is passed to transformers explicitly (`GenParams.generate_kwargs`):
a checkpoint's `generation_config.json` fills in whatever a `generate` call leaves out, and the
Qwen2-VL-Instruct configs set top_k=1, top_p=0.001, temperature=0.01, which would turn every
"sample" into the greedy text (spec section 9.1).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from enum import Enum

from umer1.utils.errors import InputError

DEFAULT_MAX_NEW_TOKENS = 8192   # the reference's evaluation budget (spec section 2)


class Mode(str, Enum):
    """disc: one forward pass, state at `<disc_emb>`. gen: reason first, state at `<gen_emb>`."""
    DISC = "disc"
    GEN = "gen"

    def __str__(self) -> str:
        return self.value


MODES = tuple(m.value for m in Mode)


def parse_mode(value, field: str = "mode") -> Mode:
    """A Mode from a user's value, or an InputError naming the field."""
    if isinstance(value, Mode):
        return value
    if isinstance(value, str) and value in MODES:
        return Mode(value)
    raise InputError(f"unknown mode {value!r}; expected 'disc' or 'gen'", field=field)


@dataclass(frozen=True)
class GenParams:
    """How gen mode generates. temperature 0 is greedy; > 0 samples with exactly these values
    (top_k 0 = off, top_p 1 = off), `num_samples` outputs per input, seeded."""
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS
    temperature: float = 0.0
    top_p: float = 1.0
    top_k: int = 0
    num_samples: int = 1
    seed: int | None = None

    def __post_init__(self):
        _check_int(self.max_new_tokens, 1, "max_new_tokens")
        _check_int(self.num_samples, 1, "num_samples")
        _check_int(self.top_k, 0, "top_k")
        if not _finite(self.temperature) or self.temperature < 0:
            raise InputError(f"must be a finite number >= 0 (0 = greedy), got {self.temperature!r}",
                             field="temperature")
        if not _finite(self.top_p) or not 0 < self.top_p <= 1:
            raise InputError(f"must be in (0, 1], got {self.top_p!r}", field="top_p")
        if self.num_samples > 1 and not self.sampling:
            raise InputError("num_samples > 1 needs temperature > 0 (greedy gives one output)",
                             field="num_samples")

    @property
    def sampling(self) -> bool:
        return self.temperature > 0

    def generate_kwargs(self) -> dict:
        """Keyword arguments for `generate` that leave nothing to the checkpoint's defaults."""
        if self.sampling:
            return dict(do_sample=True, temperature=float(self.temperature), top_p=float(self.top_p),
                        top_k=int(self.top_k), min_p=None, typical_p=1.0, epsilon_cutoff=0.0,
                        eta_cutoff=0.0, repetition_penalty=1.0, num_beams=1)
        return dict(do_sample=False, temperature=None, top_p=None, top_k=None, min_p=None,
                    repetition_penalty=1.0, num_beams=1)

    def key_info(self) -> dict:
        """What distinguishes two gen embeddings of the same input (for caches and records)."""
        info = {"max_new_tokens": self.max_new_tokens}
        if self.sampling:
            info.update({k: v for k, v in asdict(self).items() if k != "max_new_tokens"})
        return info


@dataclass(frozen=True)
class EmbedSpec:
    """One way of embedding: the mode, and for gen the generation parameters."""
    mode: Mode = Mode.DISC
    gen: GenParams = field(default_factory=GenParams)

    def __post_init__(self):
        object.__setattr__(self, "mode", parse_mode(self.mode))

    def key_info(self) -> dict:
        if self.mode is Mode.DISC:
            return {"mode": "disc"}
        return {"mode": "gen", **self.gen.key_info()}


def _finite(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _check_int(value, low: int, field: str) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < low:
        raise InputError(f"must be an integer >= {low}, got {value!r}", field=field)
