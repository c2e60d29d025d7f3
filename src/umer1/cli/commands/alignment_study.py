"""`umer1 alignment-study`: gen-mode queries against a disc-mode corpus, with and without alignment."""
from __future__ import annotations

NAME = "alignment-study"
HELP = ("train a tiny model with and without the cross-mode SFT terms on synthetic data and "
        "compare gen/gen, disc/disc and gen-query/disc-corpus retrieval and their costs")


def add_arguments(p):
    p.add_argument("--out", default="runs/alignment", help="output folder (report.md, results.json)")
    p.add_argument("--config", default=None, help="YAML with StudyConfig fields (optional)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override one setting, e.g. --set steps=400; repeatable")


def run(args) -> int:
    from umer1.experiments.alignment import StudyConfig, run_study
    from umer1.utils.config import load_config
    cfg = load_config(StudyConfig, args.config, args.overrides)
    run_study(args.out, cfg)
    print(open(f"{args.out}/report.md", encoding="utf-8").read())
    return 0
