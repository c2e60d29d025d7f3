"""Qwen2-VL (the backbone of the released UME-R1 checkpoints)."""
from __future__ import annotations

from transformers import (Qwen2VLConfig, Qwen2VLForConditionalGeneration, Qwen2VLImageProcessor,
                          Qwen2VLProcessor, Qwen2VLVideoProcessor)

from umer1.engine.backbones.base import Backbone


def text_config(vocab_size: int, ids: dict[str, int], hidden_size: int, num_layers: int,
                num_heads: int, num_kv_heads: int, intermediate_size: int) -> dict:
    head_dim = hidden_size // num_heads
    half = head_dim // 2
    # mrope splits head_dim/2 rotary pairs over (temporal, height, width); the real models
    # use [16, 24, 24] for head_dim 128: keep that 2:3:3 shape.
    t = half // 4
    h = (half - t) // 2
    section = [t, h, half - t - h]
    return dict(
        vocab_size=vocab_size, hidden_size=hidden_size, intermediate_size=intermediate_size,
        num_hidden_layers=num_layers, num_attention_heads=num_heads,
        num_key_value_heads=num_kv_heads, max_position_embeddings=32768,
        rope_parameters={"rope_type": "default", "rope_theta": 1000000.0,
                         "mrope_section": section},
        bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"],
        pad_token_id=ids["<|endoftext|>"], tie_word_embeddings=True,
    )


def tiny_config(vocab_size: int, ids: dict[str, int], hidden_size: int = 64, num_layers: int = 2,
                num_heads: int = 4, num_kv_heads: int = 2, intermediate_size: int | None = None,
                vision_depth: int = 2, vision_dim: int = 32, vision_heads: int = 2):
    return Qwen2VLConfig(
        text_config=text_config(vocab_size, ids, hidden_size, num_layers, num_heads,
                                num_kv_heads, intermediate_size or 2 * hidden_size),
        vision_config=dict(depth=vision_depth, embed_dim=vision_dim, hidden_size=hidden_size,
                           num_heads=vision_heads, mlp_ratio=2, patch_size=14,
                           spatial_merge_size=2, temporal_patch_size=2),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=True,
    )


BACKBONE = Backbone(
    name="qwen2_vl", model_type="qwen2_vl",
    model_class=Qwen2VLForConditionalGeneration, processor_class=Qwen2VLProcessor,
    image_processor_class=Qwen2VLImageProcessor, video_processor_class=Qwen2VLVideoProcessor,
    tiny_config=tiny_config,
)
