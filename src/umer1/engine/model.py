"""UMEModel: a Qwen2-VL-family checkpoint plus its processor, giving disc and gen embeddings."""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from transformers import AutoConfig, AutoProcessor

from umer1.engine.backbones import Backbone, backbone_for_model_type
from umer1.engine.positions import disc_positions, gather, normalize
from umer1.utils.errors import InputError
from umer1.engine.generation import Generated, generate_with_capture
from umer1.engine.inputs import DEFAULT_MAX_IMAGE_PIXELS, EmbedInput, as_input, iter_chunks
from umer1.engine.literal import literal_ids
from umer1.engine.loading import (check_device, check_model_source, check_tokenizer_files, loading,
                                  parse_dtype)
from umer1.engine.params import DEFAULT_MAX_NEW_TOKENS, GenParams, Mode, parse_mode
from umer1.engine.processing import length_key, load_prompt, processor_batch
from umer1.utils.progress import progress
from umer1.engine.settings import SETTINGS_FILE, EmbeddingSettings
from umer1.engine.tokens import TokenIds, add_embedding_tokens, has_embedding_tokens

log = logging.getLogger(__name__)


@dataclass
class GenerationOutput:
    """Generative embeddings with what produced them.

    With num_samples == 1: embeddings (N, D), texts [N], found (N,), disc (N, D).
    With num_samples == K > 1: embeddings (N, K, D), texts [N][K], found (N, K).
    """
    embeddings: np.ndarray
    texts: list
    found: np.ndarray
    num_tokens: np.ndarray
    disc_embeddings: np.ndarray   # from the same prefill, free of charge


class UMEModel:
    """Load with `from_pretrained`; embed with `encode`; keep with `save_pretrained`."""

    def __init__(self, model, processor, backbone: Backbone, settings: EmbeddingSettings,
                 name: str = ""):
        self.model = model
        self.processor = processor
        self.backbone = backbone
        self.settings = settings
        self.name = name
        self.ids = TokenIds.from_tokenizer(processor.tokenizer, backbone.vision_token_names)
        self.max_image_pixels = DEFAULT_MAX_IMAGE_PIXELS

    # ----- loading and saving -------------------------------------------------------------
    @classmethod
    def from_pretrained(cls, name_or_path: str | Path, *, dtype: Any = None, device: str | None = None,
                        attn_implementation: str | None = None, adapter: str | Path | None = None,
                        add_missing_tokens: bool = False, revision: str | None = None,
                        **setting_overrides) -> "UMEModel":
        """Load a checkpoint from a local directory or a hub id.

        `adapter` is a PEFT adapter directory applied on top (a directory that itself holds
        `adapter_config.json` may also be passed as `name_or_path`: its base is then loaded
        from the adapter's `base_model_name_or_path`). `add_missing_tokens` adds and
        initialises `<gen_emb>`/`<disc_emb>` for a base model that lacks them (to train it).
        Keyword overrides replace fields of the saved EmbeddingSettings (e.g. max_pixels).
        Everything a user names is checked before weights are read (docs/limits.md).
        """
        path = str(name_or_path)
        torch_dtype = parse_dtype(dtype)
        check_device(device)
        if adapter is None and (Path(path) / "adapter_config.json").is_file():
            import json
            adapter = path
            path = json.loads((Path(path) / "adapter_config.json").read_text())["base_model_name_or_path"]
        if adapter is not None and not (Path(adapter) / "adapter_config.json").is_file():
            raise InputError("no adapter_config.json: not a PEFT adapter folder", file=str(adapter))
        local = check_model_source(path)
        if local:
            check_tokenizer_files(path)
        hub = dict(revision=revision) if revision else {}
        with loading("model config", path):
            config = AutoConfig.from_pretrained(path, **hub)
        try:
            backbone = backbone_for_model_type(config.model_type)
        except ValueError as exc:
            raise InputError(str(exc), file=path) from None
        with loading("processor", path):
            processor = AutoProcessor.from_pretrained(path, **hub)
        if not has_embedding_tokens(processor.tokenizer) and not add_missing_tokens:
            raise InputError("the tokenizer has no <gen_emb> / <disc_emb> tokens, so this is not a "
                             "UME model; to train one from this base model, load it with "
                             "add_missing_tokens=True", file=path)
        kwargs = dict(**hub)
        if torch_dtype is not None:
            kwargs["dtype"] = torch_dtype
        if attn_implementation:
            kwargs["attn_implementation"] = attn_implementation
        with loading("weights", path):
            model = backbone.model_class.from_pretrained(path, **kwargs)
        if add_missing_tokens:
            add_embedding_tokens(processor.tokenizer, model)
        if adapter is not None:
            from peft import PeftModel
            model = PeftModel.from_pretrained(model, str(adapter))
        if device:
            model.to(device)
        model.eval()
        settings_dir = (adapter if adapter and (Path(adapter) / SETTINGS_FILE).is_file()
                        else (path if Path(path).is_dir() else None))
        settings = EmbeddingSettings.load(settings_dir)
        if settings_dir is None or not (Path(settings_dir) / SETTINGS_FILE).is_file():
            # a base model without umer1.json: its backbone's chat
            settings = replace(settings, prompt_format=backbone.chat.name)
        if setting_overrides:
            settings = replace(settings, **setting_overrides)
        return cls(model, processor, backbone, settings, name=str(name_or_path))

    def save_pretrained(self, out_dir: str | Path) -> None:
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(out)
        self.processor.save_pretrained(out)
        self.settings.save(out)

    # ----- internals ---------------------------------------------------------------------
    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def hf_model(self):
        """The transformers model (under a PEFT wrapper when an adapter is loaded)."""
        return self.model.get_base_model() if hasattr(self.model, "get_base_model") else self.model

    @property
    def final_norm(self):
        return self.backbone.final_norm(self.hf_model)

    def batch(self, items: Sequence[EmbedInput], assistant: Sequence[str] | None = None):
        """Processor tensors for inputs (left padded), on the model's device."""
        prompts = [load_prompt(it, self.settings, max_image_pixels=self.max_image_pixels,
                               resize_factor=self.backbone.resize_factor,
                               assistant=None if assistant is None else assistant[i])
                   for i, it in enumerate(items)]
        return processor_batch(self.processor, prompts, self.settings).to(self.device)

    def last_hidden_state(self, batch) -> torch.Tensor:
        """Final-norm states of every position from ONE forward of the decoder (no LM head)."""
        return self.hf_model.model(**batch, use_cache=False).last_hidden_state

    def generate_batch(self, batch, params: GenParams, *, model=None, force_gen_emb: bool = True,
                       want_disc: bool = True) -> Generated:
        """One batched generation with the gen states captured: the seam every caller uses
        (inference here, RL rollouts with `model` = the policy and force_gen_emb=False)."""
        return generate_with_capture(model if model is not None else self.model, self.final_norm,
                                     batch, ids=self.ids, params=params, want_disc=want_disc,
                                     force_gen_emb=force_gen_emb)

    @property
    def max_text_tokens(self) -> int:
        """The longest text an input may have: the model's context (`max_position_embeddings`,
        32,768 for Qwen2-VL), so that a text that could never be embedded whole is refused."""
        cfg = self.hf_model.config
        return int(getattr(getattr(cfg, "text_config", cfg), "max_position_embeddings"))

    def check_texts(self, items: Sequence[EmbedInput]) -> None:
        """An InputError (row = 1-based input) for a text over `max_text_tokens`, before any
        input is embedded. Only texts with more UTF-8 bytes than the limit are tokenised: a
        byte-level BPE token covers at least one byte."""
        limit = self.max_text_tokens
        for i, item in enumerate(items):
            if len(item.text.encode("utf-8")) > limit:
                n = len(literal_ids(self.processor.tokenizer, item.text))
                if n > limit:
                    raise InputError(f"the text is {n} tokens, over the limit of {limit} (the "
                                     "model's context)", row=i + 1, field="text",
                                     kind="text_too_long")

    def _order(self, items: list[EmbedInput]) -> list[int]:
        return sorted(range(len(items)), key=lambda i: length_key(items[i], self.settings))

    # ----- embedding ---------------------------------------------------------------------
    @torch.no_grad()
    def encode(self, inputs: Sequence[Any], mode: str | Mode = "disc", *, batch_size: int = 8,
               show_progress_bar: bool = False, normalize_embeddings: bool = True,
               max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS, temperature: float = 0.0,
               top_p: float = 1.0, top_k: int = 0, num_samples: int = 1, seed: int | None = None,
               params: GenParams | None = None) -> np.ndarray:
        """Embeddings as float32 numpy: (N, D), or (N, K, D) for gen with num_samples K > 1.

        Inputs: strings, PIL images, dicts {"text", "image", "video"} or EmbedInput.
        mode "disc": one forward pass, state at `<disc_emb>`. mode "gen": generate the
        reasoning and read the state at the generated `<gen_emb>` (see `generate`); its
        parameters are the keywords, or `params` (a GenParams) when given.
        """
        if parse_mode(mode) is Mode.GEN:
            return self.generate(inputs, batch_size=batch_size, show_progress_bar=show_progress_bar,
                                 normalize_embeddings=normalize_embeddings,
                                 max_new_tokens=max_new_tokens, temperature=temperature,
                                 top_p=top_p, top_k=top_k, num_samples=num_samples, seed=seed,
                                 params=params).embeddings
        _check_batch_size(batch_size)
        items = [as_input(x) for x in inputs]
        self.check_texts(items)
        out = np.zeros((len(items), self.hidden_size), dtype=np.float32)
        order = self._order(items)
        with progress(total=len(items), desc="disc", enabled=show_progress_bar) as bar:
            for chunk in iter_chunks(order, batch_size):
                batch = self.batch([items[i] for i in chunk])
                hidden = self.last_hidden_state(batch)
                emb = gather(hidden, disc_positions(batch["input_ids"], self.ids.disc))
                emb = normalize(emb) if normalize_embeddings else emb.float()
                out[chunk] = emb.cpu().numpy()
                bar.update(len(chunk))
        return out

    @torch.no_grad()
    def generate(self, inputs: Sequence[Any], *, batch_size: int = 8, show_progress_bar: bool = False,
                 normalize_embeddings: bool = True, max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
                 temperature: float = 0.0, top_p: float = 1.0, top_k: int = 0, num_samples: int = 1,
                 seed: int | None = None, params: GenParams | None = None) -> GenerationOutput:
        """Generative embeddings plus the generated texts, a found-flag and token counts.

        Greedy by default; temperature > 0 samples with exactly the given top_p / top_k
        (num_samples per input, for pass@k). Vision tokens are never sampled. An output that
        has not written `<gen_emb>` when `max_new_tokens` is spent gets `<gen_emb>` forced as
        its last token, its embedding read there, and found=False (`umer1.engine.generation`).
        """
        if params is None:
            params = GenParams(max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p,
                               top_k=top_k, num_samples=num_samples, seed=seed)
        _check_batch_size(batch_size)
        items = [as_input(x) for x in inputs]
        self.check_texts(items)
        N, K, D = len(items), params.num_samples, self.hidden_size
        max_new_tokens = params.max_new_tokens
        emb = np.zeros((N, K, D), np.float32)
        disc = np.zeros((N, D), np.float32)
        found = np.zeros((N, K), bool)
        ntok = np.zeros((N, K), np.int64)
        texts: list[list[str]] = [[""] * K for _ in range(N)]
        order = self._order(items)
        with progress(total=N, desc="gen", enabled=show_progress_bar) as bar:
            for b, chunk in enumerate(iter_chunks(order, batch_size)):
                if params.seed is not None:
                    torch.manual_seed(params.seed + b)
                g = self.generate_batch(self.batch([items[i] for i in chunk]), params)
                states = normalize(g.states) if normalize_embeddings else g.states.float()
                states = states.cpu().numpy().reshape(len(chunk), K, D)
                decoded = self.processor.tokenizer.batch_decode(g.new_tokens, skip_special_tokens=True)
                d = normalize(g.disc_states) if normalize_embeddings else g.disc_states.float()
                d = d.cpu().numpy().reshape(len(chunk), K, D)[:, 0]
                for j, i in enumerate(chunk):
                    emb[i], disc[i] = states[j], d[j]
                    found[i] = g.found.numpy().reshape(len(chunk), K)[j]
                    ntok[i] = g.num_new_tokens.numpy().reshape(len(chunk), K)[j]
                    texts[i] = decoded[j * K:(j + 1) * K]
                bar.update(len(chunk))
        missing = int((~found).sum())
        if missing:
            log.warning("%d of %d generated outputs did not write <gen_emb> within max_new_tokens=%d; "
                        "it was forced as their last token (found=False)", missing, found.size,
                        max_new_tokens)
        if K == 1:
            return GenerationOutput(emb[:, 0], [t[0] for t in texts], found[:, 0], ntok[:, 0], disc)
        return GenerationOutput(emb, texts, found, ntok, disc)

    @property
    def hidden_size(self) -> int:
        cfg = self.hf_model.config
        return getattr(cfg, "text_config", cfg).hidden_size


def _check_batch_size(batch_size) -> None:
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise InputError(f"must be an integer >= 1, got {batch_size!r}", field="batch_size")
