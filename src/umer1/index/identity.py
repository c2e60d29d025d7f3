"""The model identity an index records: its fingerprint (`umer1.engine.fingerprint`) plus what
the index needs to report and check (name, local path, dimension, settings).

A query embedded by another model (other weights, or the same weights with other embedding
settings) is refused; the same weights loaded from another path are the same model.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from umer1.engine.fingerprint import model_fingerprint


def model_identity(model) -> dict:
    local = Path(model.name)
    return {"name": model.name, "path": str(local.resolve()) if local.is_dir() else None,
            "fingerprint": model_fingerprint(model),
            "dim": model.hidden_size, "settings": dataclasses.asdict(model.settings)}
