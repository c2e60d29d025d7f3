"""The trained model of either stage: load, freeze the vision tower, LoRA, gradient checkpointing."""
from __future__ import annotations

from pathlib import Path

import torch

from umer1.train.base.config import LoraSettings, ModelConfig


def load_model(cfg: ModelConfig, *, add_missing_tokens: bool):
    """The `UMEModel` to train, in train mode.

    `add_missing_tokens`: SFT may start from a plain Qwen2-VL model (the embedding tokens are
    added); RL must start from a UME model, so there a missing token is an error.
    """
    from umer1.engine.model import UMEModel
    if cfg.tiny and not Path(cfg.base).exists():
        from umer1.engine.tiny import make_tiny_model
        make_tiny_model(cfg.base)
    ume = UMEModel.from_pretrained(cfg.base, dtype=cfg.dtype, add_missing_tokens=add_missing_tokens,
                                   attn_implementation=cfg.attn_implementation, **cfg.overrides())
    if cfg.freeze_vision:
        freeze_vision_tower(ume)
    if cfg.lora.enabled:
        apply_lora(ume, cfg.lora)
    if cfg.gradient_checkpointing:
        enable_gradient_checkpointing(ume)
    ume.model.train()
    return ume


def load_frozen(path: str, cfg: ModelConfig):
    """A frozen copy loaded like the trained model (RL's KL reference), in eval mode."""
    from umer1.engine.model import UMEModel
    ume = UMEModel.from_pretrained(path, dtype=cfg.dtype, attn_implementation=cfg.attn_implementation,
                                   **cfg.overrides())
    ume.model.requires_grad_(False)
    ume.model.eval()
    return ume


def freeze_vision_tower(ume, keep_merger: bool = True) -> None:
    """Freeze the vision encoder; the mergers (vision -> LLM projections) stay trainable."""
    ume.backbone.vision_tower(ume.hf_model).requires_grad_(False)
    if keep_merger:
        for projector in ume.backbone.vision_projectors(ume.hf_model):
            projector.requires_grad_(True)


def apply_lora(ume, lora: LoraSettings) -> None:
    """Wrap the model with PEFT LoRA adapters on the language model's linear layers only."""
    from peft import LoraConfig, get_peft_model
    targets = "|".join(lora.target_modules)
    cfg = LoraConfig(r=lora.r, lora_alpha=lora.alpha, lora_dropout=lora.dropout,
                     target_modules=rf".*language_model.*\.({targets})$")
    ume.model = get_peft_model(ume.model, cfg)


def enable_gradient_checkpointing(ume) -> None:
    hf = ume.hf_model
    hf.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    if hasattr(hf, "enable_input_require_grads"):
        hf.enable_input_require_grads()  # needed when the embeddings are frozen (LoRA)


def trainable_parameters(module) -> list[torch.nn.Parameter]:
    return [p for p in module.parameters() if p.requires_grad]
