"""SFT configuration: the shared sections plus the SFT data and loss sections."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from umer1.train.base.config import (DataConfig, ModelConfig, OptimSettings, TrainConfig, at_least,
                                     finite, need, validate_common)
from umer1.train.sft.losses import TEMPERATURE


@dataclass
class SFTDataConfig(DataConfig):
    batch_size: int = 8                  # pairs per micro-step over ALL processes (in-batch negatives)
    group_size: int | None = None        # pairs of one dataset per group (default: batch_size / processes)
    order: Literal["file", "shuffle"] = "file"   # file (as the reference) | shuffle (seeded groups)
    max_length: int | None = None        # tokens per side; pairs whose <gen_emb> would be cut are dropped


@dataclass
class LossConfig:
    con_gen: float = 1.0
    con_disc: float = 1.0
    ntp_query: float = 1.0
    ntp_target: float = 1.0
    con_genq_disct: float = 0.0          # cross-mode terms (align the two spaces)
    con_discq_gent: float = 0.0
    temperature: float = TEMPERATURE
    grad_cache_chunk: int = 0            # pairs per chunk for GradCache (0 = off)


WEIGHTS = ("con_gen", "con_disc", "ntp_query", "ntp_target", "con_genq_disct", "con_discq_gent")


@dataclass
class SFTConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: SFTDataConfig = field(default_factory=SFTDataConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimSettings = field(default_factory=OptimSettings)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(output_dir="runs/sft"))

    def validate(self) -> None:
        """InputError naming the dotted key of the first bad value."""
        validate_common(self)
        d, loss = self.data, self.loss
        at_least(d.batch_size, 1, "data.batch_size")
        at_least(d.group_size, 1, "data.group_size")
        at_least(d.max_length, 1, "data.max_length")
        for key in WEIGHTS:
            finite(getattr(loss, key), f"loss.{key}", low=0.0)
        need(any(getattr(loss, k) for k in WEIGHTS), "loss", "every loss weight is 0: nothing to train")
        finite(loss.temperature, "loss.temperature", positive=True)
        at_least(loss.grad_cache_chunk, 0, "loss.grad_cache_chunk")
