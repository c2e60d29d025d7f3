"""Qwen2.5-VL: the same method; its vision tower differs (window attention, out_hidden_size)."""
from __future__ import annotations

from transformers import (Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration,
                          Qwen2_5_VLProcessor, Qwen2VLImageProcessor, Qwen2VLVideoProcessor)

from umer1.engine.backbones.base import Backbone
from umer1.engine.backbones.qwen2_vl import text_config


def tiny_config(vocab_size: int, ids: dict[str, int], hidden_size: int = 64, num_layers: int = 2,
                num_heads: int = 4, num_kv_heads: int = 2, intermediate_size: int | None = None,
                vision_depth: int = 2, vision_dim: int = 32, vision_heads: int = 2):
    return Qwen2_5_VLConfig(
        text_config=text_config(vocab_size, ids, hidden_size, num_layers, num_heads,
                                num_kv_heads, intermediate_size or 2 * hidden_size),
        vision_config=dict(depth=vision_depth, hidden_size=vision_dim,
                           intermediate_size=2 * vision_dim, num_heads=vision_heads,
                           out_hidden_size=hidden_size, patch_size=14, spatial_merge_size=2,
                           temporal_patch_size=2, window_size=112,
                           fullatt_block_indexes=[vision_depth - 1]),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=True,
    )


BACKBONE = Backbone(
    name="qwen2_5_vl", model_type="qwen2_5_vl",
    model_class=Qwen2_5_VLForConditionalGeneration, processor_class=Qwen2_5_VLProcessor,
    image_processor_class=Qwen2VLImageProcessor, video_processor_class=Qwen2VLVideoProcessor,
    tiny_config=tiny_config,
)
