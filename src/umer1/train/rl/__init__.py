"""The RL stage (spec section 5): config, rewards, GRPO loss, rollouts, scoring, trainer, and the
optional vLLM rollout backend.

    from umer1.train.rl import RLConfig, run
    summary = run(cfg, resume=False, overwrite=False)
"""
from umer1.train.rl.config import RLConfig
from umer1.train.rl.trainer import RLTrainer, run

__all__ = ["RLConfig", "RLTrainer", "run"]
