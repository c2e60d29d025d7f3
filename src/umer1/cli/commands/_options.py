"""Parsed arguments into a command's typed request: argparse `dest` names are its field names."""
from __future__ import annotations

import dataclasses


def request(cls, args):
    """An instance of the dataclass `cls` from the namespace's attributes of the same names."""
    return cls(**{f.name: getattr(args, f.name) for f in dataclasses.fields(cls)
                  if hasattr(args, f.name)})
