"""What one client may ask of the server: every per-request cap in one place, with safe defaults.

The caps bound the work one request can put on the single model worker, so that no request
can hold it for long: text is capped in characters (checked first, before tokenizing) and in
tokens (counted with the model's tokenizer), per input and per request; gen mode is capped in
new tokens. docs/serving.md and docs/limits.md list every field.
"""
from __future__ import annotations

from dataclasses import dataclass, fields

from umer1.engine.params import DEFAULT_MAX_NEW_TOKENS
from umer1.utils.errors import InputError

# The server's gen budget: small, so one gen request cannot hold the worker for minutes.
# An operator may raise it up to the engine's full budget, never beyond.
SERVE_MAX_NEW_TOKENS = 512
HARD_MAX_NEW_TOKENS = DEFAULT_MAX_NEW_TOKENS


@dataclass(frozen=True)
class ServeLimits:
    max_inputs_per_request: int = 256
    max_text_chars: int = 32_768                 # one input's text, checked before tokenizing
    max_text_tokens: int = 8_192                 # one input's text, model tokenizer
    max_request_chars: int = 1_048_576           # all texts of one request
    max_request_tokens: int = 65_536             # all texts of one request
    max_request_bytes: int = 32 * 1024 * 1024    # the whole JSON body
    max_json_depth: int = 32                     # a valid request nests 6 deep
    max_image_bytes: int = 8 * 1024 * 1024       # one image file
    max_image_pixels: int = 16_000_000           # width x height, checked before decoding
    max_images_per_input: int = 8
    max_new_tokens: int = SERVE_MAX_NEW_TOKENS   # gen mode: the reasoning budget per input
    request_timeout_s: float = 120.0             # queueing + model time of one request
    body_timeout_s: float = 30.0                 # reading the body (a slow client gets 408)
    max_queued_inputs: int = 4096                # beyond this the server answers 503
    allow_remote_images: bool = False            # http(s) image URLs are fetched only if True
    remote_timeout_s: float = 10.0
    max_search_k: int = 100                      # the search page: hits per index

    def __post_init__(self):
        for f in fields(self):
            value = getattr(self, f.name)
            if f.type == "bool":
                continue
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise InputError(f"must be a positive number, got {value!r}", field=f.name)
        if self.max_new_tokens > HARD_MAX_NEW_TOKENS:
            raise InputError(f"must be at most {HARD_MAX_NEW_TOKENS}, got {self.max_new_tokens}",
                             field="max_new_tokens")
