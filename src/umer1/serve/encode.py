"""The function the model worker calls for one batch: disc in one forward, gen through
`UMEModel.generate_batch` with a stopping criterion that ends the decoding as soon as every
request of the batch is cancelled (its result is then discarded)."""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from transformers import StoppingCriteria, StoppingCriteriaList

from umer1.engine.params import GenParams, Mode
from umer1.engine.positions import normalize


class _StopWhen(StoppingCriteria):
    def __init__(self, should_stop: Callable[[], bool]):
        self.should_stop = should_stop

    def __call__(self, input_ids, scores, **kwargs) -> torch.BoolTensor:
        return torch.full((input_ids.shape[0],), self.should_stop(), dtype=torch.bool,
                          device=input_ids.device)


class _Stoppable:
    """A model whose `generate` also stops on `should_stop`: what generate_batch's `model`
    seam calls, so the engine's capture runs unchanged."""

    def __init__(self, model, should_stop: Callable[[], bool]):
        self.model = model
        self.should_stop = should_stop

    def generate(self, **kwargs):
        stop = StoppingCriteriaList([_StopWhen(self.should_stop)])
        return self.model.generate(**kwargs, stopping_criteria=stop)


def make_encode_fn(model, *, max_new_tokens: int):
    """encode(items, mode, should_stop) -> unit-length embeddings (N, D) float32. Gen mode is
    greedy with `max_new_tokens` of reasoning per input, as `UMEModel.encode(mode="gen")`."""
    params = GenParams(max_new_tokens=max_new_tokens)

    def encode(items, mode: Mode, should_stop: Callable[[], bool]) -> np.ndarray:
        if mode is Mode.DISC:
            return model.encode(items, mode=Mode.DISC, batch_size=len(items),
                                normalize_embeddings=True)
        g = model.generate_batch(model.batch(items), params,
                                 model=_Stoppable(model.model, should_stop), want_disc=False)
        return normalize(g.states).cpu().numpy()
    return encode
