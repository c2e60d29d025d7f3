"""Routers: per query, answer the disc ranking as it is, or also reason (gen mode) first.

Every router gives each query a priority (higher: reason sooner) and a decision. The priority
orders queries for a cost-quality curve (reason for the top fraction); the decision is what a
deployed router does at its threshold.
- `Always(False)` / `Always(True)`: the always-disc and always-gen bounds.
- `MarginRule(t)`: reason when the disc margin (best minus second-best cosine) is below t.
- `GateRouter(gate)`: reason when the learned gate's probability that gen ranks the positive
  higher than disc is at least its threshold.
The oracle (the better mode per query) needs both outcomes, so it is a curve, not a router
(`umer1.routing.curves.oracle_curve`).

Specs, as `umer1 eval --router` takes them: `disc`, `gen`, `rule:T`, `gate:PATH` or
`gate:PATH@T` (T in [0, 1] replaces the gate file's threshold).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from umer1.routing.features import STATS, gate_features
from umer1.routing.gate import Gate, check_threshold
from umer1.utils.errors import InputError

MARGIN = STATS.index("margin")


class Router:
    name = "router"
    needs_embedding = False   # whether `priority` reads the disc embeddings

    def priority(self, stats: np.ndarray, disc: np.ndarray | None = None) -> np.ndarray:
        raise NotImplementedError

    def decide(self, stats: np.ndarray, disc: np.ndarray | None = None) -> np.ndarray:
        raise NotImplementedError


@dataclass
class Always(Router):
    gen: bool

    @property
    def name(self) -> str:
        return "always-gen" if self.gen else "always-disc"

    def priority(self, stats, disc=None):
        return np.zeros(len(stats))

    def decide(self, stats, disc=None):
        return np.full(len(stats), self.gen)


@dataclass
class MarginRule(Router):
    threshold: float = 0.1

    def __post_init__(self):
        self.threshold = check_threshold(self.threshold)

    @property
    def name(self) -> str:
        return f"rule:{self.threshold:g}"

    def priority(self, stats, disc=None):
        return -np.asarray(stats, np.float64)[:, MARGIN]

    def decide(self, stats, disc=None):
        return np.asarray(stats, np.float64)[:, MARGIN] < self.threshold


@dataclass
class GateRouter(Router):
    gate: Gate
    threshold: float | None = None   # None: the gate file's own
    path: str = ""
    needs_embedding = True

    def __post_init__(self):
        self.threshold = self.gate.threshold if self.threshold is None else check_threshold(self.threshold)

    @property
    def name(self) -> str:
        return f"gate:{self.path}@{self.threshold:g}" if self.path else f"gate@{self.threshold:g}"

    def priority(self, stats, disc=None):
        if disc is None:
            raise ValueError("the gate reads the disc embeddings")
        return self.gate.probability(gate_features(disc, stats))

    def decide(self, stats, disc=None):
        return self.priority(stats, disc) >= self.threshold


def parse_router(spec: str, fingerprint: str | None = None) -> Router:
    """A router from its spec (see the module doc); a gate file is checked against the model's
    `fingerprint` when given. Bad specs raise a one-line InputError naming `--router`."""
    spec = (spec or "").strip()
    if spec in ("disc", "always-disc"):
        return Always(False)
    if spec in ("gen", "always-gen"):
        return Always(True)
    kind, _, arg = spec.partition(":")
    if kind == "rule" and arg:
        return MarginRule(_number(arg))
    if kind == "gate" and arg:
        path, threshold = arg, None
        head, at, tail = arg.rpartition("@")
        if at and head and _is_number(tail):
            path, threshold = head, _number(tail)
        return GateRouter(Gate.load(path, fingerprint), threshold, path)
    raise InputError(f"unknown router {spec!r}; expected disc, gen, rule:T (T in [0, 1]) or "
                     "gate:PATH[@T]", field="--router")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InputError(f"a routing threshold must be a number in [0, 1], got {text!r}",
                         field="--router") from None
    return check_threshold(value)   # NaN and inf fail its range check
