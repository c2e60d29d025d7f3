"""RL that cannot run as a silent no-op.

GRPO's advantage is a reward minus its group's mean: a group whose rollouts all got the same
reward gives no gradient. On a model whose rollouts never write the format every reward is 0,
every group is flat, and RL would spend its steps changing nothing. `check_learning_signal`
reads the trainer's own per-step metrics and stops RL with a message that says so.
`SignalCheckedRL` calls it where the trainer reports its metrics (after each step), without
changing the trainer.
"""
from __future__ import annotations

from umer1.train.rl import RLTrainer


class NoLearningSignal(RuntimeError):
    def __init__(self, message: str, steps: int):
        super().__init__(message)
        self.steps = steps


def check_learning_signal(history: list[dict], probe_steps: int) -> None:
    """Raise NoLearningSignal once `probe_steps` steps have passed in which every group of
    rollouts had zero reward spread (metric `zero_spread_groups` == 1). `history`: the
    trainer's metric rows so far, oldest first."""
    if probe_steps < 1 or len(history) != probe_steps:
        return
    if all(row.get("zero_spread_groups", 0.0) >= 1.0 for row in history):
        fmt = sum(row.get("format_rate", 0.0) for row in history) / len(history)
        raise NoLearningSignal(
            f"RL stopped after {probe_steps} steps: every group of rollouts got one reward "
            f"(zero spread in 100% of groups; format rate {100 * fmt:.0f}%), so GRPO has no "
            f"gradient and further steps would change nothing. "
            + ("No rollout writes <think>...</think><answer>...<gen_emb>: train SFT longer first."
               if fmt == 0 else "Rollouts are identical: raise the sampling temperature."),
            steps=probe_steps)


class SignalCheckedRL(RLTrainer):
    """The RL trainer, checked after each of its first `probe_steps` steps."""

    def __init__(self, cfg, probe_steps: int, **kwargs):
        super().__init__(cfg, **kwargs)
        self.probe_steps = probe_steps
        self.history: list[dict] = []

    def train_step(self, rollouts=None) -> dict:
        metrics = super().train_step(rollouts)
        if len(self.history) < self.probe_steps:
            self.history.append(metrics)
            check_learning_signal(self.history, self.probe_steps)
        return metrics
