"""Embedding inputs: what a user hands us, validated and loaded into PIL images.

Paths are read here and only here, with the checks that turn bad files into `InputError`s
that name the row and field (missing, unreadable, truncated, unsupported, too many pixels, too
elongated). The limits are documented in docs/limits.md.
"""
from __future__ import annotations

import difflib
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
# The Qwen2-VL processor (and qwen-vl-utils) refuses a longer/shorter side ratio above 200.
MAX_ASPECT_RATIO = 200
# The fields of an input row; `read_embed_inputs` also accepts a row `id`.
INPUT_FIELDS = ("text", "image", "images", "video")
EMBED_FIELDS = INPUT_FIELDS + ("id",)

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


def input_from_row(row: dict, base_dir: str | Path | None = None,
                   known_fields: Iterable[str] | None = None) -> EmbedInput:
    """An EmbedInput from a JSON row; relative paths are taken from `base_dir`.

    With `known_fields`, any other field is an InputError naming it, so a misspelt "imgae"
    is not silently dropped (the row would be embedded as text only).
    """
    if not isinstance(row, dict):
        raise InputError("a row must be a JSON object")
    if known_fields is not None:
        check_fields(row, known_fields)
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


def check_fields(row: dict, known_fields: Iterable[str]) -> None:
    """An InputError naming the first field of `row` not in `known_fields`."""
    known = tuple(known_fields)
    for key in row:
        if key not in known:
            close = difflib.get_close_matches(str(key), known, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            raise InputError(f"unknown field{hint}; a row may have {', '.join(known)}",
                             field=str(key))


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
    """The up-front check: exists, is an image within the caps, and decodes to the last pixel
    (a truncated JPEG passes a header check and would fail mid-training instead)."""
    load_image(path, field_name, max_pixels, convert=False)


def to_rgb(im: Image.Image) -> Image.Image:
    """8-bit RGB. 16-bit, 32-bit integer and float images (modes I;16*, I, F) are scaled into
    0..255, not clipped (Pillow's own conversion turns every value above 255 white): I;16 from
    its 16-bit range; I and F from the range their largest value implies (1 for floats up to
    1.0, else 255, else 65535, else that value)."""
    if im.mode not in ("I", "F") and not im.mode.startswith("I;16"):
        return im.convert("RGB")
    import numpy as np
    a = np.nan_to_num(np.asarray(im, dtype=np.float64))
    top = float(a.max()) if a.size else 0.0
    if im.mode.startswith("I;16"):
        scale = 65535.0
    elif im.mode == "F" and top <= 1.0:
        scale = 1.0
    else:
        scale = next((r for r in (255.0, 65535.0) if top <= r), top)
    a = np.clip(a * (255.0 / scale), 0, 255).round().astype(np.uint8)
    return Image.fromarray(a, mode="L").convert("RGB")


def load_image(image: ImageLike, field_name: str = "image",
               max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS, convert: bool = True):
    """A decoded RGB PIL image, or an InputError that says what is wrong with it.
    `convert=False` decodes and checks only (returns None)."""
    if isinstance(image, Image.Image):
        _check_pixels(image.size, "the image", field_name, max_pixels)
        return to_rgb(image)
    path = str(image)
    if Path(path).suffix.lower() not in IMAGE_SUFFIXES:
        raise InputError(f"unsupported file type {Path(path).suffix or '(none)'!r} for {path}; "
                         f"expected one of {' '.join(sorted(IMAGE_SUFFIXES))}", field=field_name)
    if not os.path.isfile(path):
        raise InputError(f"no such image file: {path}", field=field_name)
    try:
        with Image.open(path) as im:
            _check_pixels(im.size, path, field_name, max_pixels)
            im.load()   # every pixel: a truncated or corrupt file fails here, naming itself
            return to_rgb(im) if convert else None
    except InputError:
        raise
    except Image.DecompressionBombError:   # Pillow's own cap, met before ours could look
        raise InputError(f"{path} is over the pixel cap of {max_pixels} (Pillow refuses it as "
                         "a possible decompression bomb)", field=field_name,
                         kind="image_too_large") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"cannot read image {path}: {exc}", field=field_name,
                         kind="invalid_image") from None


def _check_pixels(size, name, field_name, max_pixels):
    w, h = size
    if w < 1 or h < 1:
        raise InputError(f"{name} has no pixels", field=field_name, kind="invalid_image")
    if w * h > max_pixels:
        raise InputError(f"{name} has {w}x{h} pixels, over the pixel cap of {max_pixels}",
                         field=field_name, kind="image_too_large")
    if max(w, h) / min(w, h) > MAX_ASPECT_RATIO:
        raise InputError(f"{name} is {w}x{h} pixels, an aspect ratio over the limit of "
                         f"{MAX_ASPECT_RATIO}:1", field=field_name, kind="invalid_image")


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
    """(row number from 1, object) for each non-blank line; malformed JSON or text that is not
    UTF-8 (a UTF-16 export, say) names its row. A UTF-8 byte-order mark is allowed."""
    path = Path(path)
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise InputError(f"cannot open: {exc.strerror or exc}", file=str(path)) from None
    with fh:
        for n, raw in enumerate(fh, start=1):
            if n == 1 and raw.startswith((b"\xff\xfe", b"\xfe\xff")):
                raise InputError("the file is UTF-16 (it starts with a UTF-16 byte-order mark); "
                                 "save it as UTF-8", file=str(path), row=1)
            try:
                line = raw.decode("utf-8-sig" if n == 1 else "utf-8")
            except UnicodeDecodeError as exc:
                raise InputError(f"not UTF-8 text (byte {exc.start + 1} of the line); save the "
                                 "file as UTF-8", file=str(path), row=n) from None
            if "\x00" in line:
                raise InputError("NUL characters in the line: the file looks like UTF-16; save "
                                 "it as UTF-8", file=str(path), row=n)
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
            item = input_from_row(row, base_dir=path.parent, known_fields=EMBED_FIELDS)
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
