"""Qwen3-VL: a Qwen3 decoder (q/k norms, interleaved mrope) with DeepStack visual features.

What differs from Qwen2-VL for this package:
- patches are 16 px, so one merged visual token is 32x32 pixels (resize factor 32), and images
  are normalised with mean = std = 0.5 (the released preprocessor_config.json);
- the chat template has no default system turn (`prompts.QWEN3_VL_CHAT`);
- the tokenizer adds `<think>`, `</think>`, tool-call and FIM tokens as normal added tokens;
- the processor writes a `<t seconds>` timestamp before each pair of video frames, and its video
  pixel cap bounds a whole clip rather than one frame;
- DeepStack adds visual features to the hidden states of the first decoder layers only: the
  final norm (`model.model.language_model.norm`) still gives the last-layer state, the state
  the teacher-forced forward and the generation hook read.
"""
from __future__ import annotations

from transformers import (Qwen2VLImageProcessor, Qwen3VLConfig, Qwen3VLForConditionalGeneration,
                          Qwen3VLProcessor, Qwen3VLVideoProcessor)

from umer1.engine.backbones.base import Backbone
from umer1.engine.prompts import QWEN3_VL_CHAT
from umer1.engine.vocab import QWEN3_ADDED_TOKENS

PATCH_SIZE = 16
MERGE_SIZE = 2


def tiny_config(vocab_size: int, ids: dict[str, int], hidden_size: int = 64, num_layers: int = 2,
                num_heads: int = 4, num_kv_heads: int = 2, intermediate_size: int | None = None,
                vision_depth: int = 2, vision_dim: int = 32, vision_heads: int = 2):
    head_dim = hidden_size // num_heads
    half = head_dim // 2
    # Qwen3-VL interleaves mrope over (temporal, height, width) as [24, 20, 20] of 64 pairs
    # for head_dim 128: keep that 6:5:5 shape.
    t = half * 3 // 8
    h = (half - t) // 2
    return Qwen3VLConfig(
        text_config=dict(
            vocab_size=vocab_size, hidden_size=hidden_size, head_dim=head_dim,
            intermediate_size=intermediate_size or 2 * hidden_size,
            num_hidden_layers=num_layers, num_attention_heads=num_heads,
            num_key_value_heads=num_kv_heads, max_position_embeddings=32768,
            rope_parameters={"rope_type": "default", "rope_theta": 5000000.0,
                             "mrope_section": [t, h, half - t - h], "mrope_interleaved": True},
            bos_token_id=ids["<|endoftext|>"], eos_token_id=ids["<|im_end|>"],
            pad_token_id=ids["<|endoftext|>"], tie_word_embeddings=True),
        vision_config=dict(depth=vision_depth, hidden_size=vision_dim,
                           intermediate_size=2 * vision_dim, num_heads=vision_heads,
                           out_hidden_size=hidden_size, patch_size=PATCH_SIZE,
                           spatial_merge_size=MERGE_SIZE, temporal_patch_size=2,
                           num_position_embeddings=256,
                           # one DeepStack feature per vision layer but the last, as the
                           # released models tap early, middle and late layers
                           deepstack_visual_indexes=list(range(max(vision_depth - 1, 1)))),
        image_token_id=ids["<|image_pad|>"], video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"], vision_end_token_id=ids["<|vision_end|>"],
        tie_word_embeddings=True,
    )


BACKBONE = Backbone(
    name="qwen3_vl", model_type="qwen3_vl",
    model_class=Qwen3VLForConditionalGeneration, processor_class=Qwen3VLProcessor,
    image_processor_class=Qwen2VLImageProcessor, video_processor_class=Qwen3VLVideoProcessor,
    tiny_config=tiny_config, chat=QWEN3_VL_CHAT, resize_factor=PATCH_SIZE * MERGE_SIZE,
    image_processor_kwargs={"patch_size": PATCH_SIZE, "merge_size": MERGE_SIZE,
                            "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5]},
    added_tokens=tuple(QWEN3_ADDED_TOKENS), video_budget_per_clip=True,
    # the DeepStack mergers project intermediate vision features into the first decoder layers
    vision_projector_names=("merger", "deepstack_merger_list"),
)
