"""`umer1 data check`: per task, whether its files are present and what is missing."""
from __future__ import annotations

NAME = ("data", "check")
HELP = "report per task whether its data files are present under the data root"


def add_arguments(p):
    p.add_argument("--tasks", required=True, help="task registry YAML or a directory with tasks.yaml")
    p.add_argument("--data-root", help="root of the task data (default: the registry's folder)")
    p.add_argument("--only", nargs="+", metavar="TASK")
    p.add_argument("--deep", action="store_true",
                   help="also read each present task and check every image / frame it references")
    p.add_argument("--json", dest="json_out", help="also write the report as JSON here")


def run(args) -> int:
    from umer1.eval.tasks import check_presence, resolve_tasks, select
    from umer1.utils.files import write_json

    specs, root = resolve_tasks(args.tasks, args.data_root)
    specs = select(specs, args.only)
    report = {}
    width = max(len(s.name) for s in specs)
    for s in specs:
        missing = check_presence(s, root, deep=args.deep)
        report[s.name] = {"present": not missing, "missing": missing, "modality": s.modality,
                          "layout": s.layout, "data": str(s.data_path(root))}
        status = "ok     " if not missing else "MISSING"
        print(f"{status} {s.name:<{width}}  {s.modality}/{s.meta_task}" +
              ("" if not missing else "  <- " + "; ".join(missing)))
    n_ok = sum(r["present"] for r in report.values())
    print(f"{n_ok}/{len(report)} tasks present under {root}")
    if args.json_out:
        write_json(args.json_out, {"data_root": str(root), "tasks": report})
    return 0 if n_ok == len(report) else 1
