"""The cold-start SFT stage (spec section 4): config, loss, collator, step, trainer.

    from umer1.train.sft import SFTConfig, run
    summary = run(cfg, resume=False, overwrite=False)
"""
from umer1.train.sft.config import SFTConfig
from umer1.train.sft.trainer import SFTTrainer, run

__all__ = ["SFTConfig", "SFTTrainer", "run"]
