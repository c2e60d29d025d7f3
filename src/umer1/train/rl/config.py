"""RL configuration: the shared sections plus rollout, reward and GRPO sections."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from umer1.engine.params import GenParams
from umer1.train.base.config import (DataConfig, ModelConfig, OptimSettings, TrainConfig, at_least,
                                     finite, need, validate_common)
from umer1.train.rl.rewards import VARIANTS


@dataclass
class RLDataConfig(DataConfig):
    pairs_per_device: int = 16              # N pairs per process per micro-step


@dataclass
class RolloutConfig:
    num_generations: int = 8                # G, per prompt and per side
    temperature: float = 1.0
    top_p: float = 1.0
    max_completion_length: int = 2048       # also the loss normaliser
    max_prompt_length: int | None = None    # tokens, visuals included; longer pairs are skipped
    top_k: int = 0                          # 0 = off (never the checkpoint's top_k=1)
    backend: Literal["hf", "vllm"] = "hf"
    vllm_gpu_memory_utilization: float = 0.3

    def params(self) -> GenParams:
        """Exactly these sampling parameters, every one passed to generate explicitly."""
        return GenParams(max_new_tokens=self.max_completion_length, temperature=self.temperature,
                         top_p=self.top_p, top_k=self.top_k, num_samples=self.num_generations)


@dataclass
class RewardConfig:
    variant: str = "rank_x_gap"             # rank_x_gap | rank | gap | threshold
    threshold: float = 0.5                  # for the "threshold" variant


@dataclass
class GRPOConfig:
    beta: float = 0.04                      # KL coefficient; 0 loads no reference model
    reference: str | None = None            # default: model.base
    epsilon_low: float = 0.2
    epsilon_high: float = 0.28
    num_iterations: int = 1                 # policy updates per rollout batch
    # stop with a message when the first N steps all had zero reward spread in every group
    # (no gradient: RL would change nothing); 0 = never
    stop_without_signal: int = 5


@dataclass
class RLConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: RLDataConfig = field(default_factory=RLDataConfig)
    rollout: RolloutConfig = field(default_factory=RolloutConfig)
    reward: RewardConfig = field(default_factory=RewardConfig)
    grpo: GRPOConfig = field(default_factory=GRPOConfig)
    # optim.grad_accum micro-batches of rollouts make one optimiser update (no extra negatives)
    optim: OptimSettings = field(default_factory=lambda: OptimSettings(
        lr=1e-6, warmup_ratio=0.0, schedule="constant"))
    train: TrainConfig = field(default_factory=lambda: TrainConfig(output_dir="runs/rl"))

    def validate(self) -> None:
        """InputError naming the dotted key of the first bad value."""
        validate_common(self)
        r, g = self.rollout, self.grpo
        need(self.reward.variant in VARIANTS, "reward.variant", f"expected one of {', '.join(VARIANTS)}")
        at_least(self.data.pairs_per_device, 1, "data.pairs_per_device")
        at_least(r.num_generations, 2, "rollout.num_generations")
        at_least(r.max_completion_length, 1, "rollout.max_completion_length")
        at_least(r.max_prompt_length, 1, "rollout.max_prompt_length")
        at_least(r.top_k, 0, "rollout.top_k")
        at_least(g.num_iterations, 1, "grpo.num_iterations")
        finite(r.temperature, "rollout.temperature", positive=True)   # GRPO samples
        finite(r.top_p, "rollout.top_p", positive=True)
        need(r.top_p <= 1, "rollout.top_p", f"must be <= 1, got {r.top_p}")
        finite(g.beta, "grpo.beta", low=0.0)
        finite(g.epsilon_low, "grpo.epsilon_low", low=0.0)
        finite(g.epsilon_high, "grpo.epsilon_high", low=0.0)
        finite(self.reward.threshold, "reward.threshold")
