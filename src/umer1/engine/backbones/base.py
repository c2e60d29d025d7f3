"""What a backbone family must tell the rest of the package."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from umer1.engine.prompts import QWEN2_VL_CHAT, ChatFormat

# Tokens that must never be sampled: a generated vision token breaks any later forward
# pass that carries images (spec section 2).
VISION_TOKEN_NAMES = ("<|vision_start|>", "<|vision_end|>", "<|vision_pad|>",
                      "<|image_pad|>", "<|video_pad|>")


@dataclass(frozen=True)
class Backbone:
    name: str                      # the CLI / config name, e.g. "qwen2_vl"
    model_type: str                # transformers' config.model_type
    model_class: Callable[..., Any]
    processor_class: Callable[..., Any]
    image_processor_class: Callable[..., Any]
    video_processor_class: Callable[..., Any]
    # tiny_config(vocab_size, token_ids, hidden_size, num_layers, ...) -> a transformers config
    tiny_config: Callable[..., Any]
    vision_token_names: tuple[str, ...] = field(default=VISION_TOKEN_NAMES)
    # The chat template's default system turn (the text itself lives in engine/prompts.py).
    chat: ChatFormat = QWEN2_VL_CHAT
    # Side of one merged visual token in pixels (patch x spatial merge): images are resized
    # to multiples of it.
    resize_factor: int = 28
    # Image-processor values a released checkpoint's preprocessor_config.json sets where they
    # differ from the processor class's defaults.
    image_processor_kwargs: Mapping[str, Any] = field(default_factory=dict)
    # Added tokens after the 14 Qwen2-VL special tokens, in id order (engine/vocab.py).
    added_tokens: tuple[str, ...] = ()
    # True when the video processor reads its `longest_edge` as the pixel budget of a whole
    # clip that its frames share (Qwen3-VL), False when it caps each frame (Qwen2-VL).
    video_budget_per_clip: bool = False
    # Vision-tower children that project into the decoder; they stay trainable when the tower
    # is frozen (`train.base.model.freeze_vision_tower`).
    vision_projector_names: tuple[str, ...] = ("merger",)
    vocab_rows: int = 151936       # rows of the released embedding matrix

    def language_model(self, model):
        """The decoder stack whose final norm output is "the last-layer hidden state"."""
        return model.model.language_model

    def final_norm(self, model):
        return self.language_model(model).norm

    def vision_tower(self, model):
        return model.model.visual

    def vision_projectors(self, model) -> list:
        tower = self.vision_tower(model)
        return [getattr(tower, n) for n in self.vision_projector_names if hasattr(tower, n)]
