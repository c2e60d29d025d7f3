"""Options and the run of both `train` verbs (`train sft`, `train rl`)."""
from __future__ import annotations


def add_run_arguments(p) -> None:
    from umer1.utils.config import add_config_arguments
    add_config_arguments(p)
    p.add_argument("--resume", nargs="?", const=True, default=False, metavar="CHECKPOINT",
                   help="continue the run in train.output_dir from its latest checkpoint (or the one given)")
    p.add_argument("--overwrite", action="store_true",
                   help="delete the run already in train.output_dir and start a new one")
    p.add_argument("--print-config", action="store_true",
                   help="print the resolved configuration and exit")


def run_stage(args, config_cls, run) -> int:
    """Load the config (file + --set), then print it or call the stage's `run`."""
    import json

    from accelerate import PartialState

    from umer1.utils.config import dump, load_config

    cfg = load_config(config_cls, args.config, args.overrides)
    if args.print_config:
        print(dump(cfg), end="")
        return 0
    summary = run(cfg, resume=args.resume, overwrite=args.overwrite)
    if PartialState().is_main_process:
        print(json.dumps(summary, indent=2))
    return 0
