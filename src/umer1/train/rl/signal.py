"""RL that cannot run as a silent no-op.

GRPO's advantage is a reward minus its group's mean: a group whose rollouts all got the same
reward gives no gradient. On a model whose rollouts never write the format every reward is 0,
every group is flat, and RL would spend its steps changing nothing. The trainer checks its own
per-step metrics over the first `grpo.stop_without_signal` steps and stops with a message that
says why (an InputError: the CLI prints it in one line).
"""
from __future__ import annotations

from umer1.utils.errors import InputError


class NoLearningSignal(InputError):
    def __init__(self, message: str, steps: int):
        super().__init__(message, field="grpo.stop_without_signal")
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
