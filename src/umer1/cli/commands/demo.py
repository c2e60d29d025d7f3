"""`umer1 demo [--out DIR] [--seed S] [--seeds N]`: the whole method end to end on a CPU."""
from __future__ import annotations

NAME = "demo"
HELP = "tiny model + synthetic data: SFT, RL, evaluation (disc, gen, decomposition, pass@k), report"


def add_arguments(p):
    p.add_argument("--out", default="runs/demo", help="output folder (default runs/demo)")
    p.add_argument("--seed", type=int, default=None, help="seed of data, model and training (default 0)")
    p.add_argument("--seeds", type=int, default=1,
                   help="run N seeds (seed, seed+1, ...) and report means with their spread")
    p.add_argument("--config", default=None, help="YAML demo config (default: built-in, as configs/demo.yaml)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override one config value (dotted key); repeatable")


def run(args) -> int:
    from umer1.utils.config import load_config
    from umer1.experiments.demo import DemoConfig, run_seeds

    shortcuts = [f"seed={args.seed}"] if args.seed is not None else []
    cfg = load_config(DemoConfig, args.config, [*args.overrides, *shortcuts])
    summary = run_seeds(args.out, cfg, args.seeds)
    rep = summary["report"]
    print()
    print(rep["table"])
    print()
    print("\n".join(rep["verdict"]))
    t = summary["timings"]
    print(f"\nreport: {rep['markdown']} (plots in {args.out}/plots); "
          f"{t['wall_s']['total'] / 60:.1f} min wall, {t['cpu_s']['total'] / 60:.1f} min CPU")
    return 0
