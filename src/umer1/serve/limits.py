"""What one client may ask of the server: every cap in one place, with safe defaults."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ServeLimits:
    max_inputs_per_request: int = 256
    max_request_bytes: int = 32 * 1024 * 1024   # the whole JSON body
    max_image_bytes: int = 8 * 1024 * 1024       # one decoded image file
    max_image_pixels: int = 16_000_000           # width x height, checked before decoding
    max_images_per_input: int = 8
    max_text_chars: int = 100_000
    request_timeout_s: float = 120.0             # queueing + model time of one request
    max_queued_inputs: int = 4096                # beyond this the server answers 503
    allow_remote_images: bool = False            # http(s) image URLs are fetched only if True
    remote_timeout_s: float = 10.0
