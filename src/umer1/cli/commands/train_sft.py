"""`umer1 train sft --config FILE [--set key=value ...] [--resume [CHECKPOINT]]`."""
from __future__ import annotations

NAME = ("train", "sft")
HELP = "cold-start SFT: joint generative + discriminative contrastive and next-token training"


def add_arguments(p):
    from umer1.utils.config import add_config_arguments
    add_config_arguments(p)
    p.add_argument("--resume", nargs="?", const=True, default=False, metavar="CHECKPOINT",
                   help="continue from the latest checkpoint of train.output_dir (or the one given)")


def run(args) -> int:
    import json

    from umer1.utils.config import load_config
    from umer1.train.sft import SFTConfig, train

    cfg = load_config(SFTConfig, args.config, args.overrides)
    summary = train(cfg, resume=args.resume)
    print(json.dumps(summary, indent=2))
    return 0
