"""`umer1 demo [--out DIR] [--minutes N] [--seed S]`: the whole method end to end on a CPU."""
from __future__ import annotations

NAME = "demo"
HELP = "tiny model + synthetic data: SFT, RL, evaluation (disc, gen, oracle, pass@k), report"


def add_arguments(p):
    p.add_argument("--out", default="runs/demo", help="output folder (default runs/demo)")
    p.add_argument("--minutes", type=float, default=None, help="time budget (default 10)")
    p.add_argument("--seed", type=int, default=None, help="seed of data, model and training (default 0)")
    p.add_argument("--config", default=None, help="YAML demo config (default: built-in, as configs/demo.yaml)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override one config value (dotted key); repeatable")


def run(args) -> int:
    from umer1.utils.config import load_config
    from umer1.experiments.demo import DemoConfig, run_demo

    shortcuts = [f"{k}={v}" for k, v in (("minutes", args.minutes), ("seed", args.seed))
                 if v is not None]
    cfg = load_config(DemoConfig, args.config, [*args.overrides, *shortcuts])
    summary = run_demo(args.out, cfg)
    rep = summary["report"]
    print()
    print(rep["table"])
    print()
    print("\n".join(rep["verdict"]))
    print(f"\nreport: {rep['markdown']} (plots in {args.out}/plots); "
          f"{summary['timings']['total'] / 60:.1f} min")
    return 0
