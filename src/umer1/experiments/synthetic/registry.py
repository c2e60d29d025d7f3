"""Every synthetic task kind: its maker, its meta-task, and whether it needs reasoning."""
from __future__ import annotations

import random

from umer1.experiments.synthetic.reasoning import make_count, make_hop, make_match
from umer1.experiments.synthetic.tasks import Item, SceneSampler, make_cls, make_i2t, make_t2i, make_vqa

MAKERS = {"t2i": make_t2i, "i2t": make_i2t, "cls": make_cls, "vqa": make_vqa,
          "count": make_count, "match": make_match, "hop": make_hop}
TASKS = tuple(MAKERS)
# Where writing the trace should help: several cells combined. The others are controls.
REASONING = ("count", "match", "hop")
META_TASK = {"t2i": "retrieval", "i2t": "retrieval", "cls": "classification", "vqa": "vqa",
             "count": "vqa", "match": "vqa", "hop": "vqa"}


def make_item(task: str, rng: random.Random, sample: SceneSampler) -> Item:
    return MAKERS[task](rng, sample)
