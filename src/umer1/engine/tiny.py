"""Random-initialised tiny checkpoints that load exactly like a released one.

They stand in for weights that cannot be downloaded here (tests, demo, benchmarks): the
directory holds a transformers model, a processor and `umer1.json`, nothing special-cased.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
from transformers import GenerationConfig

from umer1.engine.backbones import get_backbone
from umer1.engine.card import Provenance, write_card
from umer1.engine.settings import EmbeddingSettings
from umer1.engine.vocab import QWEN2_VL_SPECIAL_TOKENS, build_tokenizer
from umer1.engine.tokens import add_embedding_tokens, init_embedding_rows
from umer1.utils.errors import InputError


def build_processor(backbone, tokenizer, settings: EmbeddingSettings):
    """The processor a released checkpoint of `backbone` ships, with `settings`' pixel caps."""
    image_processor = backbone.image_processor_class(
        min_pixels=settings.min_pixels, max_pixels=settings.max_pixels,
        **backbone.image_processor_kwargs)
    video_processor = backbone.video_processor_class(
        min_pixels=settings.min_pixels, max_pixels=settings.video_max_pixels)
    return backbone.processor_class(image_processor=image_processor, tokenizer=tokenizer,
                                    video_processor=video_processor,
                                    chat_template=backbone.chat.template)


def default_settings(backbone) -> EmbeddingSettings:
    """Small pixel caps (256 visual tokens an image, 16 a frame) in the backbone's chat format."""
    token = backbone.resize_factor ** 2
    return EmbeddingSettings(prompt_format=backbone.chat.name, max_pixels=256 * token,
                             video_max_pixels=16 * token)


@dataclass(frozen=True)
class TinyModelOptions:
    """What `umer1 tiny-model` asks for; `write_tiny_model` makes it."""
    out_dir: str
    backbone: str = "qwen2_vl"
    tokenizer: str = "compact"
    seed: int = 0
    hidden_size: int = 64
    num_layers: int = 2
    num_heads: int = 4
    num_kv_heads: int = 2
    vision_depth: int = 2
    vision_dim: int = 32


def write_tiny_model(options: TinyModelOptions) -> Path:
    return make_tiny_model(**asdict(options))


def _check_out_dir(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise InputError("exists and is not a folder; a model is written as a folder", file=str(out))
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the folder: {exc.strerror or exc}", file=str(out)) from None


def make_tiny_model(out_dir: str | Path, *, backbone: str = "qwen2_vl", tokenizer: str = "compact",
                    seed: int = 0, hidden_size: int = 64, num_layers: int = 2, num_heads: int = 4,
                    num_kv_heads: int = 2, vision_depth: int = 2, vision_dim: int = 32,
                    settings: EmbeddingSettings | None = None,
                    extra_corpus: list[str] | None = None) -> Path:
    """Write a random tiny UME model (model + processor + settings) to `out_dir`.

    `extra_corpus`: more text for the compact vocabulary to learn merges from (words of the
    training data become single tokens, so sequences are shorter).
    """
    if hidden_size % num_heads or (hidden_size // num_heads) % 8:
        raise InputError("hidden-size / heads must be a multiple of 8 (the rotary sections)",
                         field="hidden_size")
    out = Path(out_dir)
    _check_out_dir(out)        # before minutes of tokenizer building, not after
    bb = get_backbone(backbone)
    # the backbone's chat decides the prompt format, whatever caps the caller chose
    settings = replace(settings or default_settings(bb), prompt_format=bb.chat.name)
    tok = build_tokenizer(tokenizer, bb, extra_corpus if tokenizer == "compact" else None)
    add_embedding_tokens(tok)
    ids = {t: tok.convert_tokens_to_ids(t) for t in QWEN2_VL_SPECIAL_TOKENS}
    # the released embedding matrix has spare rows: no resize for the two embedding tokens
    vocab = bb.vocab_rows if tokenizer == "qwen" else -(-len(tok) // 64) * 64
    config = bb.tiny_config(vocab, ids, hidden_size=hidden_size, num_layers=num_layers,
                            num_heads=num_heads, num_kv_heads=num_kv_heads,
                            vision_depth=vision_depth, vision_dim=vision_dim)
    torch.manual_seed(seed)
    model = bb.model_class(config)
    init_embedding_rows(tok, model)
    model.generation_config = GenerationConfig(
        eos_token_id=[ids["<|im_end|>"], ids["<|endoftext|>"]], pad_token_id=ids["<|endoftext|>"],
        bos_token_id=ids["<|endoftext|>"], do_sample=False)
    model.save_pretrained(out)
    build_processor(bb, tok, settings).save_pretrained(out)
    settings.save(out)
    write_card(out, Provenance(stage="tiny-model", options={
        "backbone": backbone, "tokenizer": tokenizer, "seed": seed, "hidden_size": hidden_size,
        "num_layers": num_layers, "num_heads": num_heads, "num_kv_heads": num_kv_heads,
        "vision_depth": vision_depth, "vision_dim": vision_dim}))
    return out
