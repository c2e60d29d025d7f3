"""A UMEModel behind the `mteb` encoder protocol (mteb itself is optional).

Both protocol generations are accepted by one `encode`:
  mteb 1.x: encode(sentences: list[str], *, task_name, prompt_type=None, **kw)
  mteb 2.x: encode(inputs: DataLoader of batches {"text": [...], "image": [...]}, *,
                   task_metadata, hf_split, hf_subset, prompt_type=None, **kw)
The adapter needs nothing from mteb at run time (the protocol is duck-typed), so it is usable
and testable without it; `model_meta()` is the one part that needs mteb installed.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping

import numpy as np

from umer1.engine.inputs import EmbedInput

try:  # import-guarded: mteb is an optional extra
    import mteb  # noqa: F401
    HAVE_MTEB = True
except ImportError:
    HAVE_MTEB = False

# instructions[task_name] or instructions[(task_name, "query"|"document")]: a string with an
# optional "{text}" placeholder, or a callable (text, task_name, prompt_type) -> str.
Instructions = Mapping[Any, "str | Callable[[str, str, str | None], str]"]


class MTEBEncoder:
    def __init__(self, model, *, mode: str = "disc", batch_size: int = 8,
                 instructions: Instructions | None = None, show_progress_bar: bool = False,
                 **encode_kwargs):
        self.model = model
        self.mode = mode
        self.batch_size = batch_size
        self.instructions = dict(instructions or {})
        self.show_progress_bar = show_progress_bar
        self.encode_kwargs = encode_kwargs

    def encode(self, inputs, *, task_name: str | None = None, task_metadata=None,
               hf_split: str | None = None, hf_subset: str | None = None, prompt_type=None,
               **kwargs) -> np.ndarray:
        task = task_name or getattr(task_metadata, "name", None) or ""
        side = getattr(prompt_type, "value", prompt_type)
        items = [self._instructed(x, task, side) for x in _flatten(inputs)]
        batch_size = kwargs.get("batch_size", self.batch_size)
        return self.model.encode(items, mode=self.mode, batch_size=batch_size,
                                 show_progress_bar=self.show_progress_bar, **self.encode_kwargs)

    def _instructed(self, item: EmbedInput, task: str, side: str | None) -> EmbedInput:
        rule = self.instructions.get((task, side), self.instructions.get(task))
        if rule is None:
            return item
        if callable(rule):
            text = rule(item.text, task, side)
        elif "{text}" in rule:
            text = rule.replace("{text}", item.text)
        else:
            text = f"{rule} {item.text}".strip()
        return EmbedInput(text=text, images=item.images, video=item.video)

    @staticmethod
    def similarity(a, b) -> np.ndarray:
        """Cosine similarity matrix (the embeddings are unit vectors)."""
        a, b = _unit(a), _unit(b)
        return a @ b.T

    @staticmethod
    def similarity_pairwise(a, b) -> np.ndarray:
        return np.sum(_unit(a) * _unit(b), axis=1)

    def model_meta(self, **fields):
        """An `mteb.ModelMeta` for this model (needs mteb)."""
        if not HAVE_MTEB:
            raise ImportError("model_meta() needs the `mteb` package: pip install mteb")
        from mteb import ModelMeta
        base = dict(name=self.model.name, revision=None, release_date=None, languages=None,
                    embed_dim=self.model.hidden_size, similarity_fn_name="cosine")
        return ModelMeta(**{**base, **fields})


def _flatten(inputs) -> list[EmbedInput]:
    """Strings, dict rows, or batches {"text": [...], "image": [...]} from a DataLoader."""
    if isinstance(inputs, (list, tuple)) and all(not isinstance(x, Mapping) or "text" not in x
                                                 or not isinstance(x["text"], list) for x in inputs):
        return [_item(x) for x in inputs]
    out = []
    for batch in inputs:
        if not isinstance(batch, Mapping):
            out.append(_item(batch))
            continue
        n = max(len(v) for v in batch.values() if isinstance(v, (list, tuple)))
        for i in range(n):
            out.append(_item({k: v[i] for k, v in batch.items()
                              if isinstance(v, (list, tuple)) and k in ("text", "image")}))
    return out


def _item(x) -> EmbedInput:
    if isinstance(x, EmbedInput):
        return x
    if isinstance(x, str):
        return EmbedInput(text=x)
    if isinstance(x, Mapping):
        images = x.get("image")
        if images is None:
            images = []
        elif not isinstance(images, (list, tuple)):
            images = [images]
        return EmbedInput(text=x.get("text") or "", images=list(images))
    return EmbedInput(images=[x])  # a PIL image


def _unit(x) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)
