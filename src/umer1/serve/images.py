"""Images sent by clients: data URLs always, http(s) URLs only when enabled, paths never.

A client must not make the server read its own files (`file://`, `/etc/...`) or, unless the
operator allows it, reach other hosts from the server's network position.
"""
from __future__ import annotations

import base64
import binascii
import io

from PIL import Image, UnidentifiedImageError

from umer1.serve.errors import APIError, bad_request
from umer1.serve.limits import ServeLimits


def decode_image(url: str, param: str, limits: ServeLimits) -> Image.Image:
    """A decoded RGB image from a `data:image/...;base64,` URL (or a remote URL if enabled)."""
    if not isinstance(url, str) or not url:
        raise bad_request("an image URL must be a non-empty string", param)
    if url.startswith("data:"):
        data = _data_url_bytes(url, param, limits)
    elif url.startswith(("http://", "https://")):
        if not limits.allow_remote_images:
            raise bad_request("remote image URLs are not fetched by this server; send the image "
                              "as a data URL (data:image/png;base64,...)", param, "remote_url_disabled")
        data = _fetch(url, param, limits)
    else:
        raise bad_request("only data URLs (data:image/...;base64,...) are accepted; file paths and "
                          "other URL schemes are never read", param, "unsupported_url")
    return _open(data, param, limits)


def _data_url_bytes(url: str, param: str, limits: ServeLimits) -> bytes:
    header, sep, payload = url.partition(",")
    if not sep or not header.startswith("data:image/") or not header.endswith(";base64"):
        raise bad_request("expected a data URL of the form data:image/<type>;base64,<data>", param,
                          "invalid_image_url")
    # Refuse by the encoded size first, so an oversized image is never decoded into memory.
    if len(payload) * 3 // 4 > limits.max_image_bytes + 3:
        raise bad_request(f"the image is larger than the limit of {limits.max_image_bytes} bytes",
                          param, "image_too_large")
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        raise bad_request("the image data is not valid base64", param, "invalid_image") from None


def _fetch(url: str, param: str, limits: ServeLimits) -> bytes:
    import httpx

    try:
        with httpx.stream("GET", url, timeout=limits.remote_timeout_s, follow_redirects=False) as r:
            if r.status_code != 200:
                raise bad_request(f"fetching the image gave HTTP {r.status_code}", param,
                                  "image_fetch_failed")
            chunks, size = [], 0
            for chunk in r.iter_bytes():
                size += len(chunk)
                if size > limits.max_image_bytes:
                    raise bad_request(f"the image is larger than the limit of "
                                      f"{limits.max_image_bytes} bytes", param, "image_too_large")
                chunks.append(chunk)
            return b"".join(chunks)
    except httpx.HTTPError as exc:
        raise bad_request(f"cannot fetch the image: {type(exc).__name__}", param,
                          "image_fetch_failed") from None


def _open(data: bytes, param: str, limits: ServeLimits) -> Image.Image:
    if len(data) > limits.max_image_bytes:
        raise bad_request(f"the image is larger than the limit of {limits.max_image_bytes} bytes",
                          param, "image_too_large")
    try:
        with Image.open(io.BytesIO(data)) as im:
            w, h = im.size   # from the header: checked before any pixel is decoded
            if w * h > limits.max_image_pixels:
                raise bad_request(f"the image has {w}x{h} pixels, over the limit of "
                                  f"{limits.max_image_pixels}", param, "image_too_large")
            if w < 1 or h < 1:
                raise bad_request("the image has no pixels", param, "invalid_image")
            im.load()
            return im.convert("RGB")
    except APIError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise bad_request("the image data cannot be decoded as an image", param,
                          "invalid_image") from None
