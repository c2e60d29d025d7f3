"""`umer1 data prepare`: the official MMEB-V2 sources -> task folders and a registry for `umer1 eval`."""
from __future__ import annotations

NAME = ("data", "prepare")
HELP = "convert the official MMEB-V2 sources (downloaded, or fetched with --download) into eval task folders"


def add_arguments(p):
    p.add_argument("--root", required=True,
                   help="data root: hf/<owner>/<name> dataset repos, image-tasks/, video-tasks/frames/; "
                        "prepared/ and the registry YAML are written here")
    p.add_argument("--instructions", default="ume-r1", choices=["ume-r1", "vlm2vec-current"],
                   help="ume-r1: what UME-R1's published run used; vlm2vec-current: today's official harness")
    p.add_argument("--ood-split", choices=["original", "page-fixed"],
                   help="OOD page-level sets (default: original for ume-r1, page-fixed for vlm2vec-current)")
    p.add_argument("--only", nargs="+", metavar="TASK", default=[])
    p.add_argument("--download", action="store_true",
                   help="first fetch what is missing from the Hugging Face hub (network)")


def run(args) -> int:
    from pathlib import Path

    from umer1.mmeb import PrepareOptions, prepare

    result = prepare(PrepareOptions(root=Path(args.root), instruction_set=args.instructions,
                                    ood_split=args.ood_split, only=args.only, download=args.download))
    for name, counts in result.prepared.items():
        print(f"ok      {name}: {counts['queries']} queries, {counts['candidates']} candidates")
    for name, gaps in result.missing.items():
        print(f"MISSING {name}  <- " + "; ".join(gaps))
    print(f"{len(result.prepared)} tasks prepared; registry {result.registry}")
    return 0 if not result.missing else 1
