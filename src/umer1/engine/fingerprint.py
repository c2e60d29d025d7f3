"""The identity of a model's embeddings: what makes two embeddings comparable.

Two embeddings are comparable when the same weights produced them with the same embedding
settings (image and video budgets, templates, ...); the mode and generation parameters are a
separate part of a key (`umer1.engine.params.EmbedSpec.key_info`). The fingerprint hashes the
settings and a fixed sample of every parameter tensor (an adapter's included), rounded to
bfloat16 so the same checkpoint loaded in float32 or bfloat16 gives the same fingerprint. It
does not depend on the path the model was loaded from, so moving a checkpoint keeps an index
usable and an embedding cache warm, and retraining into the same folder invalidates both.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json

import torch

SAMPLE = 32  # values taken from each end of every parameter tensor


def model_fingerprint(model) -> str:
    """A 32-hex-digit digest of a UMEModel's weights and embedding settings."""
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
