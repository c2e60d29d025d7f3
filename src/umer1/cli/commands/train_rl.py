"""`umer1 train rl --config configs/rl/NAME.yaml [--set key=value ...]`: the GRPO stage."""
from __future__ import annotations

NAME = ("train", "rl")
HELP = "RL stage (GRPO with the rank x gap embedding reward) from an SFT checkpoint"


def add_arguments(p):
    from umer1.utils.config import add_config_arguments
    add_config_arguments(p)
    p.add_argument("--print-config", action="store_true",
                   help="print the resolved configuration and exit")


def run(args) -> int:
    from umer1.utils.config import dump, load_config
    from umer1.train.rl import RLConfig, RLTrainer

    cfg = load_config(RLConfig, args.config, args.overrides)
    if args.print_config:
        print(dump(cfg), end="")
        return 0
    trainer = RLTrainer(cfg)
    final = trainer.train()
    if trainer.acc.is_main_process:
        print(f"RL done: {trainer.step} steps; model in {final}; metrics in "
              f"{trainer.run_dir / 'metrics.jsonl'}")
    return 0
