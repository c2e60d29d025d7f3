"""`umer1 data check`: per task, whether its files are present and what is missing."""
from __future__ import annotations

from umer1.cli.commands._options import request

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
    from umer1.eval.jobs import DataCheckRequest, check_data
    from umer1.mmeb import source_hints
    report = check_data(request(DataCheckRequest, args), hints=source_hints)
    print(report.text)
    return 0 if report.ok else 1
