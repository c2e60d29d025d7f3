"""`umer1 VERB ...`: one module per verb in `umer1.cli.commands`, found automatically.

A command module defines NAME (a string, or a tuple for nested verbs such as
("train", "sft")), HELP, add_arguments(parser) and run(args) -> exit code.
Bad input (InputError) is printed as one line and exits with status 2, never a traceback.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import pkgutil
import sys

from umer1 import __version__
from umer1.utils.errors import InputError


def _command_modules():
    import umer1.cli.commands as pkg
    for info in sorted(pkgutil.iter_modules(pkg.__path__), key=lambda i: i.name):
        if not info.name.startswith("_"):
            yield importlib.import_module(f"umer1.cli.commands.{info.name}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="umer1", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"umer1 {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    root = parser.add_subparsers(dest="command", metavar="COMMAND")
    groups: dict[str, argparse._SubParsersAction] = {}
    for mod in _command_modules():
        path = (mod.NAME,) if isinstance(mod.NAME, str) else tuple(mod.NAME)
        sub = root
        for i, part in enumerate(path[:-1]):
            key = " ".join(path[:i + 1])
            if key not in groups:
                group = sub.add_parser(part, help=f"{part} commands")
                groups[key] = group.add_subparsers(dest=f"{part}_command", metavar="COMMAND")
            sub = groups[key]
        p = sub.add_parser(path[-1], help=mod.HELP, description=mod.HELP)
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    # transformers' own loading/saving bars would interleave with ours
    from transformers.utils import logging as hf_logging
    hf_logging.disable_progress_bar()
    if not hasattr(args, "_run"):
        parser.print_help()
        return 2
    try:
        return int(args._run(args) or 0)
    except InputError as exc:
        print(f"error: {exc.one_line()}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130

