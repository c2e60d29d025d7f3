"""`umer1 routing-study`: cost against quality of routing each query between disc and gen."""
from __future__ import annotations

NAME = "routing-study"
HELP = ("on synthetic data, train (or take) a tiny model and measure per-query routing between "
        "disc and gen: metric against fraction reasoned and generated tokens, per router")


def add_arguments(p):
    p.add_argument("--out", default="runs/routing", help="output folder (report.md, results.json, "
                   "gate.json, plots)")
    p.add_argument("--config", default=None, help="YAML with RoutingStudyConfig fields (optional)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override one setting, e.g. --set steps=300 or --set model=PATH; repeatable")


def run(args) -> int:
    from umer1.experiments.routing_study import RoutingStudyConfig, run_routing_study
    from umer1.utils.config import load_config
    cfg = load_config(RoutingStudyConfig, args.config, args.overrides)
    run_routing_study(args.out, cfg)
    print(open(f"{args.out}/report.md", encoding="utf-8").read())
    return 0
