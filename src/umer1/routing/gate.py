"""The learned gate: P(reasoning helps this query) from its disc-side features.

Logistic regression (`hidden=0`) or a one-hidden-layer MLP on standardised features (the disc
embedding and the score statistics, `features.gate_features`), trained with a fixed number of
full-batch Adam steps from a seeded initialisation on the label "gen ranked the positive higher
than disc". A gate reads one model's disc embeddings, so its file carries that model's
fingerprint (`umer1.engine.fingerprint.model_fingerprint`) and is refused for any other model.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from umer1.utils.errors import InputError
from umer1.utils.files import write_json

FORMAT = "umer1-routing-gate/1"


@dataclass
class GateConfig:
    hidden: int = 0             # 0: logistic regression; > 0: units of one hidden layer
    steps: int = 300
    lr: float = 0.05
    weight_decay: float = 1e-2  # L2 on the weights: few labelled queries, many features
    seed: int = 0


@dataclass
class Gate:
    fingerprint: str
    mean: np.ndarray
    std: np.ndarray
    layers: list[tuple[np.ndarray, np.ndarray]]   # (weight (out, in), bias (out,)), tanh between
    threshold: float = 0.5
    trained_on: int = 0
    positive_rate: float = 0.0

    def probability(self, features: np.ndarray) -> np.ndarray:
        x = (np.asarray(features, np.float64) - self.mean) / self.std
        for k, (w, b) in enumerate(self.layers):
            x = x @ w.T + b
            if k < len(self.layers) - 1:
                x = np.tanh(x)
        return 1.0 / (1.0 + np.exp(-x[:, 0]))

    def save(self, path: str | Path) -> None:
        write_json(path, {"format": FORMAT, "fingerprint": self.fingerprint,
                          "threshold": self.threshold, "trained_on": self.trained_on,
                          "positive_rate": self.positive_rate, "mean": self.mean.tolist(),
                          "std": self.std.tolist(),
                          "layers": [[w.tolist(), b.tolist()] for w, b in self.layers]})

    @classmethod
    def load(cls, path: str | Path, fingerprint: str | None = None) -> "Gate":
        """The gate in `path`; InputError if it is not a gate file, or (given `fingerprint`) if
        it was trained for another model."""
        p = str(path)
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise InputError("no such gate file", file=p) from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            raise InputError(f"not a routing gate file (expected JSON with format {FORMAT})",
                             file=p) from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise InputError(f"not a routing gate file (expected format {FORMAT})", file=p,
                             field="format")
        if fingerprint is not None and data.get("fingerprint") != fingerprint:
            raise InputError(f"this gate was trained for another model (fingerprint "
                             f"{data.get('fingerprint')}, this model {fingerprint}); train a gate "
                             "for this model", file=p, field="fingerprint")
        try:
            gate = cls(str(data["fingerprint"]), np.asarray(data["mean"], np.float64),
                       np.asarray(data["std"], np.float64),
                       [(np.asarray(w, np.float64), np.asarray(b, np.float64))
                        for w, b in data["layers"]],
                       check_threshold(data["threshold"], field="threshold", file=p), int(data.get("trained_on", 0)),
                       float(data.get("positive_rate", 0.0)))
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"a damaged routing gate file ({type(exc).__name__}: {exc})",
                             file=p) from None
        dims = [gate.mean.size] + [w.shape[0] for w, _ in gate.layers]
        if not gate.layers or any(w.shape != (dims[k + 1], dims[k]) for k, (w, _) in
                                  enumerate(gate.layers)) or dims[-1] != 1:
            raise InputError("a damaged routing gate file (layer shapes do not chain)", file=p,
                             field="layers")
        return gate


def check_threshold(value, *, field: str = "--router", file: str | None = None) -> float:
    """A threshold in [0, 1] (NaN and booleans refused), or an InputError at `field`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise InputError(f"a routing threshold must be a number in [0, 1], got {value!r}",
                         field=field, file=file)
    return float(value)


def fit_gate(features: np.ndarray, labels: np.ndarray, fingerprint: str,
             cfg: GateConfig | None = None) -> Gate:
    """Train a gate on per-query features (N, F) and labels (N,) (1 = gen did better)."""
    cfg = cfg or GateConfig()
    x = np.asarray(features, np.float64)
    y = np.asarray(labels, np.float64).reshape(-1)
    if len(x) != len(y) or len(y) < 2:
        raise InputError(f"a gate needs at least 2 labelled queries with features, got {len(y)}",
                         field="labels")
    mean, std = x.mean(0), x.std(0)
    std = np.where(std > 1e-8, std, 1.0)
    g = torch.Generator().manual_seed(cfg.seed)
    dims = [x.shape[1]] + ([cfg.hidden] if cfg.hidden > 0 else []) + [1]
    params = []
    for a, b in zip(dims[:-1], dims[1:]):
        w = (torch.randn(b, a, generator=g, dtype=torch.float64) / np.sqrt(a)).requires_grad_()
        params += [w, torch.zeros(b, dtype=torch.float64, requires_grad=True)]
    xt = torch.from_numpy((x - mean) / std)
    yt = torch.from_numpy(y)
    opt = torch.optim.Adam(params, lr=cfg.lr)
    for _ in range(cfg.steps):
        h = xt
        for k in range(0, len(params), 2):
            h = h @ params[k].T + params[k + 1]
            if k < len(params) - 2:
                h = torch.tanh(h)
        loss = torch.nn.functional.binary_cross_entropy_with_logits(h[:, 0], yt)
        loss = loss + cfg.weight_decay * sum((w ** 2).sum() for w in params[::2])
        opt.zero_grad()
        loss.backward()
        opt.step()
    layers = [(params[k].detach().numpy().copy(), params[k + 1].detach().numpy().copy())
              for k in range(0, len(params), 2)]
    return Gate(fingerprint, mean, std, layers, 0.5, len(y), float(y.mean()))
