"""`umer1 train sft --config FILE [--set key=value ...] [--resume [CHECKPOINT] | --overwrite]`."""
from __future__ import annotations

NAME = ("train", "sft")
HELP = "cold-start SFT: joint generative + discriminative contrastive and next-token training"


def add_arguments(p):
    from umer1.cli.commands._train_args import add_run_arguments
    add_run_arguments(p)


def run(args) -> int:
    from umer1.cli.commands._train_args import run_stage
    from umer1.train.sft import SFTConfig, run
    return run_stage(args, SFTConfig, run)
