"""Backbone plug-ins: adding a family means adding one module and one line below."""
from __future__ import annotations

from umer1.engine.backbones.base import VISION_TOKEN_NAMES, Backbone
from umer1.engine.backbones.qwen2_5_vl import BACKBONE as QWEN2_5_VL
from umer1.engine.backbones.qwen2_vl import BACKBONE as QWEN2_VL
from umer1.engine.backbones.qwen3_vl import BACKBONE as QWEN3_VL

BACKBONES: dict[str, Backbone] = {b.name: b for b in (QWEN2_VL, QWEN2_5_VL, QWEN3_VL)}


def get_backbone(name: str) -> Backbone:
    try:
        return BACKBONES[name]
    except KeyError:
        raise ValueError(f"unknown backbone {name!r}; known: {', '.join(BACKBONES)}") from None


def backbone_for_model_type(model_type: str) -> Backbone:
    """The backbone of a checkpoint, chosen by its config's model_type (never by its path)."""
    for b in BACKBONES.values():
        if b.model_type == model_type:
            return b
    raise ValueError(f"model_type {model_type!r} is not a supported backbone; "
                     f"supported: {', '.join(b.model_type for b in BACKBONES.values())}")


def backbone_for_processor(processor) -> Backbone | None:
    """The backbone whose processor class `processor` is (None for any other processor)."""
    return next((b for b in BACKBONES.values() if type(processor) is b.processor_class), None)


__all__ = ["Backbone", "BACKBONES", "VISION_TOKEN_NAMES", "get_backbone",
           "backbone_for_model_type", "backbone_for_processor"]
