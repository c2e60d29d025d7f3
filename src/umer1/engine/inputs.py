"""Embedding inputs: what a user hands us, validated and loaded into PIL images.

Paths are read here and only here, with the checks that turn bad files into `InputError`s
that name the row and field (missing, unreadable, corrupt, unsupported, too many pixels).
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from PIL import Image, UnidentifiedImageError

from umer1.utils.errors import InputError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".gif", ".tif", ".tiff"}
# Refuse images with more pixels than this before decoding them (decompression bombs).
DEFAULT_MAX_IMAGE_PIXELS = 64_000_000

ImageLike = Any  # a path (str / Path) or a PIL image


@dataclass
class EmbedInput:
    """One query or candidate: text and/or images and/or one video (a list of frames)."""
    text: str = ""
    images: list[ImageLike] = field(default_factory=list)
    video: list[ImageLike] | None = None

    def is_empty(self) -> bool:
        return not self.text.strip() and not self.images and not self.video


def as_input(x: Any) -> EmbedInput:
    """Accept a string, a PIL image, a dict row ({"text", "image", "video"}) or an EmbedInput."""
    if isinstance(x, EmbedInput):
        return x
    if isinstance(x, str):
        return EmbedInput(text=x)
    if isinstance(x, Image.Image):
        return EmbedInput(images=[x])
    if isinstance(x, dict):
        return input_from_row(x)
    raise InputError(f"cannot embed an object of type {type(x).__name__}; pass a string, "
                     "a PIL image, a dict with text/image/video, or an EmbedInput")


def input_from_row(row: dict, base_dir: str | Path | None = None) -> EmbedInput:
    """An EmbedInput from a JSON row; relative paths are taken from `base_dir`."""
    if not isinstance(row, dict):
        raise InputError("a row must be a JSON object")
    text = row.get("text", "")
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise InputError("must be a string", field="text")
    images = row.get("image", row.get("images"))
    if images is None or images == "":
        images = []
    elif isinstance(images, (str, Image.Image)):
        images = [images]
    elif not isinstance(images, list):
        raise InputError("must be a path or a list of paths", field="image")
    video = row.get("video")
    if video is not None:
        if isinstance(video, str):  # a folder of frames
            video = frame_files(_resolve(video, base_dir), "video")
        elif not isinstance(video, list):
            raise InputError("must be a list of frame paths or a folder", field="video")
        elif not video:
            raise InputError("a video needs at least one frame", field="video")
    images = [_resolve(p, base_dir) if isinstance(p, str) else p for p in images]
    if video is not None:
        video = [_resolve(p, base_dir) if isinstance(p, str) else p for p in video]
    item = EmbedInput(text=text, images=images, video=video)
    if item.is_empty():
        raise InputError("empty input: no text, image or video", field="text")
    return item


def _resolve(path: str, base_dir: str | Path | None) -> str:
    if not isinstance(path, str) or not path:
        raise InputError("a path must be a non-empty string", field="image")
    if base_dir is None or os.path.isabs(path):
        return path
    return str(Path(base_dir) / path)


def natural_key(name: str) -> list:
    """Sort key that orders digit runs by value: frame_2 before frame_10 (as the MMEB-V2
    harness lists frame folders, spec section 9.3)."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def frame_files(folder: str | Path, field_name: str = "video") -> list[str]:
    """The image files of a frame folder, in natural order; the one place that lists one."""
    p = Path(folder)
    if not p.is_dir():
        raise InputError(f"no such frame folder: {folder}", field=field_name)
    frames = sorted((str(f) for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES),
                    key=lambda f: natural_key(Path(f).name))
    if not frames:
        raise InputError(f"the frame folder {folder} holds no images", field=field_name)
    return frames


def check_image_file(path: str, field_name: str = "image",
                     max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS) -> None:
    """Cheap validation without decoding pixels: exists, is an image, passes integrity checks."""
    load_image(path, field_name, max_pixels, verify_only=True)


def load_image(image: ImageLike, field_name: str = "image",
               max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS, verify_only: bool = False):
    """A decoded RGB PIL image, or an InputError that says what is wrong with it."""
    if isinstance(image, Image.Image):
        _check_pixels(image.size, "the image", field_name, max_pixels)
        return image.convert("RGB")
    path = str(image)
    if Path(path).suffix.lower() not in IMAGE_SUFFIXES:
        raise InputError(f"unsupported file type {Path(path).suffix or '(none)'!r} for {path}; "
                         f"expected one of {' '.join(sorted(IMAGE_SUFFIXES))}", field=field_name)
    if not os.path.isfile(path):
        raise InputError(f"no such image file: {path}", field=field_name)
    try:
        with Image.open(path) as im:
            _check_pixels(im.size, path, field_name, max_pixels)
            if verify_only:
                im.verify()
                return None
            im.load()
            return im.convert("RGB")
    except InputError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
        raise InputError(f"cannot read image {path}: {exc}", field=field_name) from None


def _check_pixels(size, name, field_name, max_pixels):
    if size[0] * size[1] > max_pixels:
        raise InputError(f"{name} has {size[0]}x{size[1]} pixels, over the cap of {max_pixels}",
                         field=field_name)
    if size[0] < 1 or size[1] < 1:
        raise InputError(f"{name} has no pixels", field=field_name)


def sample_frames(frames: list, n: int) -> list:
    """n frames at `np.linspace(0, len - 1, n, dtype=int)`, first and last included, as the
    MMEB-V2 harness takes them (docs/mmeb-v2-sources.md section 4); all of them when there are
    n or fewer (the harness pads nothing)."""
    if n <= 0 or len(frames) <= n:
        return list(frames)
    import numpy as np   # float linspace truncated, exactly as the harness computes it
    return [frames[int(i)] for i in np.linspace(0, len(frames) - 1, n, dtype=int)]


def validate(item: EmbedInput, max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS) -> None:
    """Check every file of an input without decoding it fully."""
    if item.is_empty():
        raise InputError("empty input: no text, image or video", field="text")
    for im in item.images:
        if not isinstance(im, Image.Image):
            check_image_file(im, "image", max_pixels)
    if item.video is not None:
        if not item.video:
            raise InputError("a video needs at least one frame", field="video")
        for fr in item.video:
            if not isinstance(fr, Image.Image):
                check_image_file(fr, "video", max_pixels)


def read_jsonl(path: str | Path) -> Iterator[tuple[int, dict]]:
    """(row number from 1, object) for each non-blank line; malformed JSON names its row."""
    path = Path(path)
    try:
        fh = path.open(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot open: {exc.strerror or exc}", file=str(path)) from None
    with fh:
        for n, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"malformed JSON: {exc.msg} at column {exc.colno}",
                                 file=str(path), row=n) from None
            if not isinstance(obj, dict):
                raise InputError("a row must be a JSON object", file=str(path), row=n)
            yield n, obj


def read_embed_inputs(path: str | Path, max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
                      check_files: bool = True) -> list[EmbedInput]:
    """All inputs of an `umer1 embed` JSONL file, every file checked before any model runs."""
    path = Path(path)
    items = []
    for n, row in read_jsonl(path):
        try:
            item = input_from_row(row, base_dir=path.parent)
            if check_files:
                validate(item, max_pixels)
        except InputError as exc:
            raise exc.located(file=str(path), row=n) from None
        items.append(item)
    if not items:
        raise InputError("no inputs (the file is empty)", file=str(path))
    return items


def iter_chunks(seq: list, size: int) -> Iterable[list]:
    for i in range(0, len(seq), size):
        yield seq[i:i + size]
