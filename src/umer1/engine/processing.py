"""From validated inputs to model tensors: load visuals, render prompts, run the processor."""
from __future__ import annotations

from typing import Sequence

from PIL import Image

from umer1.engine.backbones import backbone_for_processor, get_backbone
from umer1.engine.inputs import DEFAULT_MAX_IMAGE_PIXELS, EmbedInput, load_image, sample_frames
from umer1.engine.literal import added_strings, literal_ids, needs_literal, splice_rows, user_segment
from umer1.engine.prompts import DISC_TOKEN, Prompt, prepare, system_turn
from umer1.engine.settings import EmbeddingSettings

# the default: the resize factor of the released checkpoints' backbone
QWEN2_VL_RESIZE_FACTOR = get_backbone("qwen2_vl").resize_factor


def load_prompt(item: EmbedInput, settings: EmbeddingSettings, *, assistant: str | None = None,
                max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
                resize_factor: int = QWEN2_VL_RESIZE_FACTOR) -> Prompt:
    """Decode an input's visuals and render its chat text in the model's prompt format.
    `resize_factor` is the model's `Backbone.resize_factor` (used by the fetch resize)."""
    images = [load_image(im, "image", max_image_pixels) for im in item.images]
    videos = []
    if item.video is not None:
        frames = sample_frames(item.video, settings.video_frames)
        videos.append([load_image(f, "video", max_image_pixels) for f in frames])
    prompt = prepare(item.text, images, videos, blank_image_for_text=settings.blank_image_for_text,
                     assistant=assistant, system=system_turn(settings.prompt_format))
    if settings.fetch_min_pixels is not None:
        prompt.images = [fetch_resize(im, settings, resize_factor) for im in prompt.images]
        prompt.videos = [[fetch_resize(f, settings, resize_factor) for f in v] for v in prompt.videos]
    return prompt


def fetch_resize(image, settings: EmbeddingSettings, factor: int = QWEN2_VL_RESIZE_FACTOR):
    """qwen-vl-utils' `fetch_image` resize, which the reference evaluation and RL apply before
    the processor: sides rounded to multiples of `factor` (28 for Qwen2-VL, 32 for Qwen3-VL:
    patch x merge) within the pixel bounds, bicubic."""
    from transformers.models.qwen2_vl.image_processing_qwen2_vl import smart_resize
    height, width = smart_resize(image.height, image.width, factor=factor,
                                 min_pixels=settings.fetch_min_pixels,
                                 max_pixels=settings.fetch_max_pixels or settings.max_pixels)
    if (width, height) == image.size:
        return image
    return image.resize((width, height), resample=Image.Resampling.BICUBIC)


def processor_batch(processor, prompts: Sequence[Prompt], settings: EmbeddingSettings,
                    padding_side: str = "left", **kwargs):
    """One padded batch. Rows without visuals are fine: visuals are passed as flat lists.
    User text is tokenised literally (`umer1.engine.literal`)."""
    tokenizer = processor.tokenizer
    added = added_strings(tokenizer)
    literal = {i: p for i, p in enumerate(prompts) if needs_literal(p, added)}
    texts = [p.template if i in literal else p.text for i, p in enumerate(prompts)]
    batch = _run_processor(processor, prompts, texts, settings, padding_side, **kwargs)
    if literal:
        vocab = tokenizer.get_vocab()
        splice_rows(batch, {i: literal_ids(tokenizer, user_segment(p, added)) for i, p in literal.items()},
                    disc_id=vocab[DISC_TOKEN], added_ids={vocab[s] for s in added},
                    pad_id=tokenizer.pad_token_id, padding_side=padding_side)
    return batch


def _run_processor(processor, prompts, texts, settings, padding_side, **kwargs):
    images = [im for p in prompts for im in p.images]
    # A clip shorter than one temporal patch repeats its last frame, as Qwen2-VL's processor
    # does itself; Qwen3-VL's refuses such a clip.
    t = getattr(processor.video_processor, "temporal_patch_size", 1)
    videos = [v + [v[-1]] * (t - len(v)) for p in prompts for v in p.videos]
    processor.tokenizer.padding_side = padding_side
    return processor(
        text=texts, images=images or None, videos=videos or None,
        padding=True, return_tensors="pt",
        # The Qwen2-VL processors take pixel caps as `size` (shortest/longest edge = min/max pixels).
        images_kwargs={"size": {"shortest_edge": settings.min_pixels,
                                "longest_edge": settings.max_pixels}},
        videos_kwargs={"size": {"shortest_edge": settings.min_pixels,
                                "longest_edge": _video_longest_edge(processor, settings)},
                       "do_sample_frames": False, "cap_pixels_per_frame": True},
        **kwargs,
    )


def _video_longest_edge(processor, settings: EmbeddingSettings) -> int:
    """`video_max_pixels` caps one frame. A processor that reads its cap as a whole clip's budget
    (`Backbone.video_budget_per_clip`) gets the budget of a clip of `video_frames` frames, so a
    clip of that many frames has the same per-frame cap on every backbone."""
    backbone = backbone_for_processor(processor)
    per_clip = backbone is not None and backbone.video_budget_per_clip
    return settings.video_max_pixels * (settings.video_frames if per_clip else 1)


def length_key(item: EmbedInput, settings: EmbeddingSettings) -> int:
    """A cheap estimate of an input's token count, to batch inputs of similar length."""
    visual = 0
    for im in item.images:
        size = getattr(im, "size", None)
        visual += (size[0] * size[1]) if size else settings.max_pixels // 4
    if item.video:
        visual += min(len(item.video), settings.video_frames) * settings.video_max_pixels // 2
    return len(item.text) // 3 + visual // (28 * 28)
