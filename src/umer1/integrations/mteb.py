"""A UMEModel as an mteb 2.x encoder, and the `mteb.ModelMeta` that describes and reloads it.

mteb is an optional extra (`pip install umer1[mteb]`): this module imports without it; only
`model_meta` and `load_encoder`'s meta need it. What it follows, read in mteb 2.26.24:
- `mteb/models/models_protocols.py` `EncoderProtocol` (runtime-checkable): `encode`,
  `similarity`, `similarity_pairwise` and a `mteb_model_meta` attribute. `mteb/evaluate.py`
  `_sanitize_model` takes any object that has `mteb_model_meta`, so no mteb base class is needed.
- `encode(inputs, *, task_metadata, hf_split, hf_subset, prompt_type)`: `inputs` is a DataLoader
  made by `mteb/_create_dataloaders.py` (`create_dataloader`, `_custom_collate_fn`); each batch is
  a dict of columns: "text" a list of str (a document's title already joined in by
  `_corpus_to_dict`, a query's instruction appended by `_combine_queries_with_instruction_text`),
  "image" a list of PIL images (or of lists of them), "video" / "audio", and columns an encoder
  ignores (id, title, body, query, label, ...).
- Instructions are looked up by the keys of mteb's own prompt lookup
  (`mteb/models/abs_encoder.py` `get_prompt_name`): "Task-query", "Task", "Type-query", "Type",
  "query" (or "document"), first match wins.
- `mteb/models/model_meta.py` `ModelMeta.load_model` calls `loader(name, revision=...,
  **loader_kwargs, **experiment_kwargs)` and sets `mteb_model_meta` on what it returns; results
  are saved under name / revision / experiment name (`mteb/cache/result_cache.py`
  `get_task_result_path`), so the embedding mode and its generation parameters are the
  experiment: disc and gen runs of one checkpoint never overwrite each other.
mteb's own UME-R1 wrapper (`mteb/models/model_implementations/ume_r1.py`, `UMER1Wrapper`) and
what this adapter does differently: docs/mteb.md.
"""
from __future__ import annotations

import datetime
import importlib.util
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np
import torch

from umer1.engine.fingerprint import model_fingerprint
from umer1.engine.inputs import EmbedInput, as_input
from umer1.engine.model import UMEModel
from umer1.engine.params import EmbedSpec, GenParams, Mode, parse_mode
from umer1.store.embedder import Embedder
from umer1.utils.errors import InputError

HAVE_MTEB = importlib.util.find_spec("mteb") is not None   # found, not imported: importing
# mteb takes seconds, so it happens only where a ModelMeta is made
MODALITIES = ["text", "image"]      # video and audio batches are refused, not dropped
MAPPED_COLUMNS = ("text", "image")
REFUSED_COLUMNS = ("video", "audio")
DEFAULT_CHUNK = 256   # inputs gathered from mteb's batches per call into the engine


class MTEBEncoder:
    """`mteb.evaluate(MTEBEncoder(model, mode=...), tasks)`.

    mode "disc" reads `<disc_emb>` after one forward; mode "gen" needs `gen` (a GenParams with
    num_samples 1): every generation parameter is given, none comes from the checkpoint.
    Inputs go through `UMEModel.encode` (length-sorted batches of `batch_size`; mteb's
    `encode_kwargs["batch_size"]` when `batch_size` is None) or, with `cache_dir`, through the
    content-keyed embedding cache (`umer1.store.Embedder`), which also keeps gen texts.
    `instructions`: {key: text} with mteb's prompt keys (module docstring); the text goes
    before the input's text, or replaces "{text}" in it. `task_prompts=True` falls back to the
    task's own `TaskMetadata.prompt` where no key matches.
    """

    def __init__(self, model: UMEModel, *, mode: str | Mode = "disc", gen: GenParams | None = None,
                 batch_size: int | None = None, instructions: Mapping[str, str] | None = None,
                 task_prompts: bool = False, cache_dir: str | Path | None = None,
                 chunk_size: int = DEFAULT_CHUNK, show_progress_bar: bool = False,
                 meta_fields: Mapping[str, Any] | None = None):
        self.model = model
        self.spec = _spec(mode, gen)
        self.batch_size = batch_size
        self.instructions = _check_instructions(instructions)
        self.task_prompts = bool(task_prompts)
        self.cache_dir = None if cache_dir is None else Path(cache_dir)
        self.chunk_size = max(1, int(chunk_size))
        self.show_progress_bar = show_progress_bar
        self.embedder = (None if cache_dir is None else
                         Embedder(model, cache_dir, batch_size=batch_size or 8, show_progress=False))
        # mteb reads this attribute (and `ModelMeta.load_model` replaces it): None without mteb
        self.mteb_model_meta = (model_meta(model, mode=self.spec.mode, gen=gen,
                                           batch_size=batch_size, instructions=self.instructions,
                                           task_prompts=self.task_prompts, cache_dir=cache_dir,
                                           **dict(meta_fields or {}))
                                if HAVE_MTEB else None)

    @property
    def mode(self) -> Mode:
        return self.spec.mode

    def encode(self, inputs, *, task_metadata=None, hf_split: str | None = None,
               hf_subset: str | None = None, prompt_type=None, **kwargs) -> np.ndarray:
        """(N, D) float32 unit vectors for mteb's DataLoader (or a plain list of inputs)."""
        rule = self.instruction(task_metadata, prompt_type)
        batch_size = self.batch_size or kwargs.get("batch_size") or 8
        show = bool(kwargs.get("show_progress_bar", self.show_progress_bar))
        parts, pending = [], []
        for batch in _batches(inputs):
            pending += [_instructed(item, rule) for item in batch_inputs(batch)]
            if len(pending) >= self.chunk_size:
                parts.append(self._embed(pending, batch_size, show))
                pending = []
        if pending or not parts:
            parts.append(self._embed(pending, batch_size, show))
        return np.concatenate(parts)

    def _embed(self, items: list[EmbedInput], batch_size: int, show: bool) -> np.ndarray:
        if self.embedder is not None:
            self.embedder.batch_size = batch_size
            self.embedder.show_progress = show
            return self.embedder.embed(items, self.spec, desc=str(self.mode))[0]
        return self.model.encode(items, mode=self.mode, batch_size=batch_size,
                                 show_progress_bar=show, normalize_embeddings=True,
                                 params=self.spec.gen if self.mode is Mode.GEN else None)

    def instruction(self, task_metadata, prompt_type) -> str | None:
        """The instruction for a task and side: ours by mteb's key order, then the task's own."""
        name = getattr(task_metadata, "name", None)
        kind = getattr(task_metadata, "type", None)
        side = getattr(prompt_type, "value", prompt_type)
        for key in (f"{name}-{side}" if name and side else None, name,
                    f"{kind}-{side}" if kind and side else None, kind, side):
            if key and key in self.instructions:
                return self.instructions[key]
        if self.task_prompts and task_metadata is not None:
            prompt = getattr(task_metadata, "prompt", None)
            if isinstance(prompt, Mapping):
                prompt = prompt.get(side) if side else None
            return prompt or None
        return None

    def similarity(self, a, b) -> torch.Tensor:
        """Cosine similarity matrix, a torch tensor as mteb's own `cos_sim` returns."""
        return _unit(a) @ _unit(b).T

    def similarity_pairwise(self, a, b) -> torch.Tensor:
        return (_unit(a) * _unit(b)).sum(dim=-1)


def batch_inputs(batch) -> list[EmbedInput]:
    """EmbedInputs from one mteb batch (a dict of columns) or one plain input (a string, a PIL
    image, a row dict {"text": str, "image": ...}, an EmbedInput)."""
    if not isinstance(batch, Mapping) or isinstance(batch.get("text"), str):
        return [as_input(dict(batch) if isinstance(batch, Mapping) else batch)]
    for col in REFUSED_COLUMNS:
        if col in batch:
            raise InputError(f"this task gives {col} inputs; umer1's mteb adapter maps only "
                             f"{' and '.join(MAPPED_COLUMNS)} (docs/mteb.md)", field=col)
    texts, images = batch.get("text"), batch.get("image")
    if texts is None and images is None:
        raise InputError(f"a batch without {' or '.join(MAPPED_COLUMNS)}: columns are "
                         f"{sorted(batch)}", field="text")
    n = len(texts) if texts is not None else len(images)
    out = []
    for i in range(n):
        text = texts[i] if texts is not None else ""
        image = images[i] if images is not None else None
        if not isinstance(text, str):
            raise InputError(f"must be a string, got {type(text).__name__}", row=i + 1, field="text")
        shown = [] if image is None else list(image) if isinstance(image, (list, tuple)) else [image]
        out.append(EmbedInput(text=text, images=shown))
    return out


def _batches(inputs) -> Iterable:
    """mteb's DataLoader yields batches; a plain list of inputs is one batch of its own items."""
    if isinstance(inputs, (list, tuple)):
        return inputs
    return iter(inputs)


def _instructed(item: EmbedInput, rule: str | None) -> EmbedInput:
    if not rule:
        return item
    text = rule.replace("{text}", item.text) if "{text}" in rule else f"{rule} {item.text}".strip()
    return EmbedInput(text=text, images=item.images, video=item.video)


def _check_instructions(instructions) -> dict[str, str]:
    out = dict(instructions or {})
    for key, value in out.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise InputError(f"instructions map mteb prompt keys to strings, got {key!r}: "
                             f"{type(value).__name__}", field="instructions")
    return out


def _spec(mode, gen: GenParams | None) -> EmbedSpec:
    mode = parse_mode(mode)
    if mode is Mode.DISC:
        return EmbedSpec(Mode.DISC)
    if not isinstance(gen, GenParams):
        raise InputError("gen mode needs gen=GenParams(...): every generation parameter is "
                         "passed explicitly", field="gen")
    if gen.num_samples != 1:
        raise InputError("mteb takes one embedding per input; use num_samples=1", field="num_samples")
    return EmbedSpec(Mode.GEN, gen)


def _unit(x) -> torch.Tensor:
    t = torch.as_tensor(np.asarray(x) if not isinstance(x, torch.Tensor) else x).float()
    t = t.reshape(1, -1) if t.ndim == 1 else t
    return torch.nn.functional.normalize(t, dim=-1)


# ----- ModelMeta and loader ----------------------------------------------------------------
def model_meta(model: UMEModel, *, mode: str | Mode = "disc", gen: GenParams | None = None,
               batch_size: int | None = None, instructions: Mapping[str, str] | None = None,
               task_prompts: bool = False, cache_dir: str | Path | None = None, **fields):
    """An `mteb.ModelMeta` for `model` embedded this way; `fields` override any field.

    name: the checkpoint's hub id, or "umer1/<folder>" for a local checkpoint. revision: the
    hub commit the weights came from, else the model fingerprint (weights and embedding
    settings). Licence, languages, training data, citation and release date come from mteb's
    own entry when mteb lists the checkpoint (`mteb.get_model_meta`, no network); a local
    checkpoint's release date is the day its weights were written. experiment_kwargs: the
    embedding spec (mode, generation parameters) plus instructions, so each is its own
    results folder. `meta.load_model()` reloads the same checkpoint (`load_encoder`).
    """
    if not HAVE_MTEB:
        raise ImportError("model_meta() needs the `mteb` package: pip install 'umer1[mteb]'")
    import mteb
    from mteb.models.model_meta import ModelMeta   # where mteb's model implementations get it

    spec = _spec(mode, gen)
    source = str(model.name)
    hf = model.hf_model
    hub_revision = getattr(hf.config, "_commit_hash", None)   # set only when loaded from a hub
    fingerprint = model_fingerprint(model)
    params = list(hf.parameters())
    experiment = dict(spec.key_info())
    if instructions:
        experiment["instructions"] = dict(instructions)
    if task_prompts:
        experiment["task_prompts"] = True
    base: dict[str, Any] = dict(
        loader=load_encoder,
        loader_kwargs=dict(source=source, hub_revision=hub_revision, fingerprint=fingerprint,
                           dtype=str(params[0].dtype).removeprefix("torch."),
                           batch_size=batch_size,
                           cache_dir=None if cache_dir is None else str(cache_dir)),
        name=_meta_name(source), revision=hub_revision or fingerprint,
        release_date=_written_on(source), languages=None,
        n_parameters=sum(p.numel() for p in params),
        n_embedding_parameters=hf.get_input_embeddings().weight.numel(),
        memory_usage_mb=round(sum(p.numel() * p.element_size() for p in params) / 2**20),
        max_tokens=model.max_text_tokens, embed_dim=model.hidden_size,
        license=None, open_weights=None, public_training_code=None, public_training_data=None,
        framework=["PyTorch", "Transformers"], similarity_fn_name="cosine",
        use_instructions=True, training_datasets=None, modalities=list(MODALITIES),
        model_type=["dense"], experiment_kwargs=experiment)
    try:
        listed = mteb.get_model_meta(source)
    except KeyError:
        listed = None
    if listed is not None:
        for key in ("release_date", "languages", "license", "open_weights", "reference",
                    "public_training_code", "public_training_data", "training_datasets",
                    "citation"):
            base[key] = getattr(listed, key)
    base.update(fields)
    return ModelMeta(**base)


def load_encoder(model_name: str, revision: str | None = None, *, source: str,
                 fingerprint: str | None = None, hub_revision: str | None = None,
                 device: str | None = None, dtype: str | None = None, mode: str = "disc",
                 max_new_tokens: int | None = None, temperature: float = 0.0, top_p: float = 1.0,
                 top_k: int = 0, num_samples: int = 1, seed: int | None = None,
                 batch_size: int | None = None, cache_dir: str | None = None,
                 instructions: Mapping[str, str] | None = None,
                 task_prompts: bool = False) -> MTEBEncoder:
    """The loader `model_meta` names: mteb calls it as `loader(name, revision=..., **kwargs)`.
    It loads `source` and refuses a checkpoint whose fingerprint is no longer the meta's."""
    model = UMEModel.from_pretrained(source, revision=hub_revision, device=device, dtype=dtype)
    if fingerprint is not None and model_fingerprint(model) != fingerprint:
        raise InputError("these weights or embedding settings are not the ones the ModelMeta "
                         f"describes (fingerprint {fingerprint})", file=source)
    gen = None
    if parse_mode(mode) is Mode.GEN:
        if max_new_tokens is None:
            raise InputError("gen mode needs max_new_tokens", field="max_new_tokens")
        gen = GenParams(max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p,
                        top_k=top_k, num_samples=num_samples, seed=seed)
    return MTEBEncoder(model, mode=mode, gen=gen, batch_size=batch_size, cache_dir=cache_dir,
                       instructions=instructions, task_prompts=task_prompts)


def _meta_name(source: str) -> str:
    """mteb wants "organization/model"; a local folder becomes "umer1/<folder name>"."""
    if Path(source).exists() or "/" not in source:
        return f"umer1/{Path(source).resolve().name if Path(source).exists() else source}"
    return source


def _written_on(source: str) -> str | None:
    """The UTC day the newest weight file of a local checkpoint was written (None for a hub id)."""
    files = [f for f in Path(source).glob("*") if f.suffix in (".safetensors", ".bin")] \
        if Path(source).is_dir() else []
    if not files:
        return None
    newest = max(f.stat().st_mtime for f in files)
    return datetime.datetime.fromtimestamp(newest, datetime.timezone.utc).date().isoformat()
