"""What makes two embeddings comparable: the same weights, the same settings, the same mode.

An index records the identity of the model that built it; a query embedded by another model
(other weights, or the same weights with other embedding settings) is refused. The fingerprint
hashes the settings and a fixed sample of every parameter tensor, rounded to bfloat16 so the
same checkpoint loaded in float32 or bfloat16 gives the same fingerprint. It does not depend
on the path the model was loaded from.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import torch

SAMPLE = 32  # values taken from each end of every parameter tensor


def model_fingerprint(model) -> str:
    h = hashlib.sha256()
    h.update(json.dumps(dataclasses.asdict(model.settings), sort_keys=True).encode())
    with torch.no_grad():
        for name, p in sorted(model.model.named_parameters(), key=lambda kv: kv[0]):
            flat = p.detach().reshape(-1)
            sample = torch.cat([flat[:SAMPLE], flat[-SAMPLE:]]).to("cpu", torch.bfloat16)
            h.update(name.encode())
            h.update(str(tuple(p.shape)).encode())
            h.update(sample.view(torch.int16).numpy().tobytes())
    return h.hexdigest()[:32]


def model_identity(model) -> dict:
    local = Path(model.name)
    return {"name": model.name, "path": str(local.resolve()) if local.is_dir() else None,
            "fingerprint": model_fingerprint(model),
            "dim": model.hidden_size, "settings": dataclasses.asdict(model.settings)}
