"""`umer1 train rl --config FILE [--set key=value ...] [--resume [CHECKPOINT] | --overwrite]`."""
from __future__ import annotations

NAME = ("train", "rl")
HELP = "RL stage (GRPO with the rank x gap embedding reward) from an SFT checkpoint"


def add_arguments(p):
    from umer1.cli.commands._train_args import add_run_arguments
    add_run_arguments(p)


def run(args) -> int:
    from umer1.cli.commands._train_args import run_stage
    from umer1.train.rl import RLConfig, run
    return run_stage(args, RLConfig, run)
