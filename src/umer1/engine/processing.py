"""From validated inputs to model tensors: load visuals, render prompts, run the processor."""
from __future__ import annotations

from typing import Sequence

from umer1.engine.inputs import DEFAULT_MAX_IMAGE_PIXELS, EmbedInput, load_image, sample_frames
from umer1.engine.prompts import Prompt, prepare
from umer1.engine.settings import EmbeddingSettings


def load_prompt(item: EmbedInput, settings: EmbeddingSettings, *, assistant: str | None = None,
                max_image_pixels: int = DEFAULT_MAX_IMAGE_PIXELS) -> Prompt:
    """Decode an input's visuals and render its chat text."""
    images = [load_image(im, "image", max_image_pixels) for im in item.images]
    videos = []
    if item.video is not None:
        frames = sample_frames(item.video, settings.video_frames)
        videos.append([load_image(f, "video", max_image_pixels) for f in frames])
    return prepare(item.text, images, videos, blank_image_for_text=settings.blank_image_for_text,
                   assistant=assistant)


def processor_batch(processor, prompts: Sequence[Prompt], settings: EmbeddingSettings,
                    padding_side: str = "left", **kwargs):
    """One padded batch. Rows without visuals are fine: visuals are passed as flat lists."""
    images = [im for p in prompts for im in p.images]
    videos = [v for p in prompts for v in p.videos]
    processor.tokenizer.padding_side = padding_side
    return processor(
        text=[p.text for p in prompts], images=images or None, videos=videos or None,
        padding=True, return_tensors="pt",
        # The Qwen2-VL processors take pixel caps as `size` (shortest/longest edge = min/max pixels).
        images_kwargs={"size": {"shortest_edge": settings.min_pixels,
                                "longest_edge": settings.max_pixels}},
        videos_kwargs={"size": {"shortest_edge": settings.min_pixels,
                                "longest_edge": settings.video_max_pixels},
                       "do_sample_frames": False, "cap_pixels_per_frame": True},
        **kwargs,
    )


def length_key(item: EmbedInput, settings: EmbeddingSettings) -> int:
    """A cheap estimate of an input's token count, to batch inputs of similar length."""
    visual = 0
    for im in item.images:
        size = getattr(im, "size", None)
        visual += (size[0] * size[1]) if size else settings.max_pixels // 4
    if item.video:
        visual += min(len(item.video), settings.video_frames) * settings.video_max_pixels // 2
    return len(item.text) // 3 + visual // (28 * 28)
