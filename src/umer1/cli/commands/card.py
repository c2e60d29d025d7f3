"""`umer1 card MODEL_DIR [--eval EVAL_DIR]`: (re)write a model folder's card."""
from __future__ import annotations

NAME = "card"
HELP = "write a model folder's card (README.md), with an evaluation's scores when given"


def add_arguments(p):
    p.add_argument("model_dir")
    p.add_argument("--eval", default=None, metavar="EVAL_DIR",
                   help="an `umer1 eval --output` folder: its scores go into the card")
    p.add_argument("--name", default=None, help="the model's name in the card (default: the folder's)")


def run(args) -> int:
    from umer1.engine.card import write_card
    path = write_card(args.model_dir, name=args.name, eval_dir=args.eval)
    print(f"wrote {path}")
    return 0
