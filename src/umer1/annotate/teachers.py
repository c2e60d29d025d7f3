"""Teachers that write the reasoning: an OpenAI-compatible chat server, or a local transformers model.

`openai:BASE_URL/MODEL` speaks POST {BASE_URL}/chat/completions (vLLM, SGLang, hosted APIs):
images go as data URLs, the key comes from an environment variable, transient failures (429,
5xx, timeouts, dropped connections, unparsable replies) are retried with exponential backoff
and seeded jitter; a server never reached in this run stops it (`TeacherFatal`) once an item's
retries run out. `hf:DIR` runs a chat model with its own processor and chat template.
"""
from __future__ import annotations

import base64
import io
import logging
import random
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from umer1.utils.errors import InputError
from umer1.engine.inputs import DEFAULT_MAX_IMAGE_PIXELS, load_image
from umer1.engine.loading import check_device, check_model_source, loading, parse_dtype
from umer1.engine.params import GenParams

log = logging.getLogger(__name__)

RETRY_STATUS = {408, 409, 425, 429}          # plus every 5xx
FATAL_STATUS = {401, 403, 404}               # wrong key or wrong model: every item would fail
VISION_TOKENS = ("<|image_pad|>", "<|video_pad|>", "<|vision_start|>", "<|vision_end|>",
                 "<|vision_pad|>")


@dataclass
class TeacherInput:
    prompt: str
    images: list[Any]        # absolute paths or PIL images, in order (video frames included)


@dataclass
class Completion:
    text: str
    finish_reason: str | None
    prompt_tokens: int
    completion_tokens: int
    requests: int            # attempts made, 1 when the first one succeeded


class TeacherError(Exception):
    """This item could not be annotated. `transient`: retries ran out (a later run retries it)."""

    def __init__(self, message: str, *, requests: int = 0, transient: bool = False):
        super().__init__(message)
        self.requests = requests
        self.transient = transient


class TeacherFatal(RuntimeError):
    """A failure no item can get past (authentication, unknown model): stop the run."""


class Cancelled(Exception):
    """The run is stopping; the item stays pending."""


def parse_teacher(spec: str) -> tuple[str, str]:
    kind, sep, rest = spec.partition(":")
    if not sep or kind not in ("openai", "hf") or not rest:
        raise InputError(f"unknown teacher {spec!r}; expected openai:BASE_URL/MODEL or hf:DIR",
                         field="--teacher")
    return kind, rest


def split_openai(rest: str) -> tuple[str, str]:
    """BASE_URL and MODEL: BASE_URL ends at a `/v1` path segment when there is one (so model
    names may hold slashes, e.g. org/name), else at the last slash."""
    parts = urlsplit(rest)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InputError(f"not an http(s) URL: {rest!r}", field="--teacher")
    segs = parts.path.split("/")
    if "v1" in segs[:-1]:
        i = segs.index("v1") + 1
    elif len(segs) >= 2 and segs[-1]:
        i = len(segs) - 1
    else:
        raise InputError("no model name: use openai:BASE_URL/MODEL", field="--teacher")
    base = f"{parts.scheme}://{parts.netloc}{'/'.join(segs[:i])}"
    model = "/".join(segs[i:])
    if not model:
        raise InputError("no model name: use openai:BASE_URL/MODEL", field="--teacher")
    return base.rstrip("/"), model


def _image_bytes(image: Any, max_pixels: int) -> tuple[bytes, str]:
    """Bytes and MIME type: the file as it is when small enough, else a resized JPEG."""
    if not hasattr(image, "size"):
        path = Path(image)
        im = load_image(path, max_pixels=DEFAULT_MAX_IMAGE_PIXELS)   # validates, names the file
        mime = {".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".png": "image/png",
                ".webp": "image/webp"}.get(path.suffix.lower())
        if mime and im.size[0] * im.size[1] <= max_pixels:
            return path.read_bytes(), mime
    else:
        im = image.convert("RGB")
    buf = io.BytesIO()
    _shrink(im, max_pixels).save(buf, format="JPEG", quality=90)
    return buf.getvalue(), "image/jpeg"


def data_url(image: Any, max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS) -> str:
    raw, mime = _image_bytes(image, max_pixels)
    return f"data:{mime};base64,{base64.b64encode(raw).decode('ascii')}"


def _retry_after(headers) -> float | None:
    try:
        return max(0.0, float(headers.get("retry-after")))
    except (TypeError, ValueError):
        return None


class OpenAITeacher:
    """A chat-completions client; `complete` is safe to call from many threads at once."""

    kind = "openai"

    def __init__(self, base_url: str, model: str, *, api_key: str | None = None,
                 timeout: float = 300.0, connect_timeout: float = 10.0, max_retries: int = 6,
                 backoff_base: float = 1.0, backoff_max: float = 60.0, max_tokens: int = 9216,
                 temperature: float = 0.0, seed: int = 0, max_image_pixels: int = 2_359_296,
                 concurrency: int = 8, stop: threading.Event | None = None):
        import httpx
        self.url = f"{base_url}/chat/completions"
        self.model = model
        self.max_retries, self.backoff_base, self.backoff_max = max_retries, backoff_base, backoff_max
        self.max_tokens, self.temperature, self.seed = max_tokens, temperature, seed
        self.max_image_pixels = max_image_pixels
        self.stop = stop or threading.Event()
        self.reached = False       # set by the first HTTP answer of any status
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._httpx = httpx
        self.client = httpx.Client(
            headers=headers, timeout=httpx.Timeout(timeout, connect=connect_timeout),
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency))

    def describe(self) -> dict:
        return {"kind": "openai", "url": self.url, "model": self.model,
                "max_tokens": self.max_tokens, "temperature": self.temperature}

    def body(self, inp: TeacherInput, key: str) -> dict:
        content = [{"type": "image_url", "image_url": {"url": data_url(im, self.max_image_pixels)}}
                   for im in inp.images]
        content.append({"type": "text", "text": inp.prompt})
        return {"model": self.model, "messages": [{"role": "user", "content": content}],
                "max_tokens": self.max_tokens, "temperature": self.temperature,
                # per-item seed: servers that honour it give the same text on a rerun
                "seed": random.Random(f"{self.seed}:{key}").randrange(2**31)}

    def complete(self, inp: TeacherInput, key: str) -> Completion:
        body = self.body(inp, key)      # an unreadable image raises InputError: not retried
        rng = random.Random(f"backoff:{self.seed}:{key}")   # jitter reproducible per item
        last = "no attempt"
        for attempt in range(self.max_retries + 1):
            if self.stop.is_set():
                raise Cancelled()
            wait = None
            try:
                r = self.client.post(self.url, json=body)
            except self._httpx.TransportError as exc:   # connect, read, write, timeout, protocol
                last = f"connection error: {type(exc).__name__}"
            else:
                self.reached = True
                if r.status_code == 200:
                    try:
                        return self._completion(r.json(), attempt + 1)
                    except (ValueError, KeyError, IndexError, TypeError) as exc:
                        last = f"unparsable reply: {type(exc).__name__}"
                elif r.status_code in FATAL_STATUS:
                    raise TeacherFatal(f"the teacher at {self.url} answered HTTP {r.status_code}: "
                                       f"{r.text[:200]}")
                elif r.status_code in RETRY_STATUS or r.status_code >= 500:
                    last = f"HTTP {r.status_code}"
                    wait = _retry_after(r.headers)
                else:   # 400, 413, 422 ...: this request will never succeed
                    raise TeacherError(f"HTTP {r.status_code}: {' '.join(r.text[:300].split())}",
                                       requests=attempt + 1)
            if attempt == self.max_retries:
                break
            delay = min(self.backoff_max, self.backoff_base * 2 ** attempt) * (0.5 + rng.random())
            if wait is not None:
                delay = max(delay, min(wait, self.backoff_max))
            log.debug("retrying %s in %.2fs after %s", key, delay, last)
            if self.stop.wait(delay):
                raise Cancelled()
        if not self.reached and last.startswith("connection error"):
            # nothing was ever answered: every other item would wait out its retries the same way
            raise TeacherFatal(f"cannot reach the teacher at {self.url} ({last} on each of "
                               f"{self.max_retries + 1} attempts)")
        raise TeacherError(f"gave up after {self.max_retries + 1} attempts: {last}",
                           requests=self.max_retries + 1, transient=True)

    @staticmethod
    def _completion(data: dict, requests: int) -> Completion:
        choice = data["choices"][0]
        msg = choice["message"]
        text = msg.get("content") or ""
        if not isinstance(text, str):
            raise TypeError("content is not a string")
        # Reasoning parsers (vLLM, SGLang, hosted reasoning models) split the thinking off.
        thinking = msg.get("reasoning_content") or msg.get("reasoning")
        if isinstance(thinking, str) and thinking.strip() and "</think>" not in text:
            text = f"<think>{thinking}</think>{text}"
        usage = data.get("usage") or {}
        return Completion(text, choice.get("finish_reason"), int(usage.get("prompt_tokens") or 0),
                          int(usage.get("completion_tokens") or 0), requests)

    def close(self) -> None:
        self.client.close()


class HFTeacher:
    """A local chat model (`hf:DIR`): its processor renders the chat and its generate writes.

    One item at a time behind a lock (a model is not re-entrant); vision tokens are suppressed.
    Every sampling parameter is passed explicitly (`GenParams.generate_kwargs`), so the
    checkpoint's generation_config (top_k=1 in Qwen2-VL-Instruct's) cannot make sampling greedy.
    """

    kind = "hf"

    def __init__(self, path: str, *, device: str | None = None, dtype: str | None = None,
                 max_new_tokens: int = 9216, temperature: float = 0.0, seed: int = 0,
                 max_image_pixels: int = 2_359_296):
        from transformers import AutoModelForCausalLM, AutoModelForImageTextToText, AutoProcessor
        # every value a user gave is checked before the model loads
        self.params = GenParams(max_new_tokens=max_new_tokens, temperature=temperature)
        torch_dtype = parse_dtype(dtype)
        check_device(device)
        if not Path(path).is_dir():
            raise InputError(f"no such model directory: {path}", field="--teacher")
        check_model_source(path, "teacher")
        self.path = path
        with loading("teacher's processor", path):
            self.processor = AutoProcessor.from_pretrained(path)
        kwargs = {"dtype": torch_dtype} if torch_dtype not in (None, "auto") else {}
        with loading("teacher", path):
            try:
                self.model = AutoModelForImageTextToText.from_pretrained(path, **kwargs)
            except ValueError:   # a text-only chat model
                self.model = AutoModelForCausalLM.from_pretrained(path, **kwargs)
        if device:
            self.model.to(device)
        self.model.eval()
        self.tokenizer = getattr(self.processor, "tokenizer", self.processor)
        vocab = self.tokenizer.get_vocab()
        self.suppress = [vocab[t] for t in VISION_TOKENS if t in vocab]
        self.seed = seed
        self.max_image_pixels = max_image_pixels
        self.lock = threading.Lock()

    def describe(self) -> dict:
        return {"kind": "hf", "path": str(self.path), "max_new_tokens": self.params.max_new_tokens,
                "temperature": self.params.temperature}

    def complete(self, inp: TeacherInput, key: str) -> Completion:
        import torch
        images = [load_image(im, max_pixels=DEFAULT_MAX_IMAGE_PIXELS) for im in inp.images]
        images = [_shrink(im, self.max_image_pixels) for im in images]
        batch = chat_batch(self.processor, self.tokenizer, inp.prompt, images).to(self.model.device)
        with self.lock, torch.no_grad():
            torch.manual_seed(random.Random(f"{self.seed}:{key}").randrange(2**31))
            out = self.model.generate(**batch, **self.params.generate_kwargs(),
                                      max_new_tokens=self.params.max_new_tokens,
                                      suppress_tokens=self.suppress or None)
        new = out[0, batch["input_ids"].shape[1]:]
        eos = self.model.generation_config.eos_token_id
        eos = set(eos if isinstance(eos, (list, tuple)) else [eos] if eos is not None else [])
        finish = "stop" if len(new) and int(new[-1]) in eos else "length"
        decoded = self.tokenizer.decode(new, skip_special_tokens=True)
        return Completion(decoded, finish, int(batch["input_ids"].shape[1]), int(len(new)), 1)

    def close(self) -> None:
        pass


# Private-use characters: no tokenizer has an added token in them, no template alters them.
_SLOT = "\ue000user text\ue000"


def chat_batch(processor, tokenizer, prompt: str, images: list):
    """The processor batch of a one-turn chat (images, then `prompt`) with `prompt` tokenised
    literally: a `<|im_end|>` or `<|image_pad|>` in a user's text is text, as in the embedding
    batches (`umer1.engine.literal`). The chat is rendered around a slot; the stretch between
    the added tokens on either side of it is tokenised with the BPE model alone, the rest as
    usual (visual tokens expanded by the processor)."""
    import torch

    from umer1.engine.literal import added_strings, literal_ids
    content = [{"type": "image"} for _ in images] + [{"type": "text", "text": _SLOT}]
    text = processor.apply_chat_template([{"role": "user", "content": content}],
                                         add_generation_prompt=True, tokenize=False)
    before, after = text.split(_SLOT)
    added = added_strings(tokenizer)
    start = max((before.rfind(s) + len(s) for s in added if s in before), default=0)
    end = min((after.find(s) for s in added if s in after), default=len(after))
    batch = processor(text=[before[:start]], return_tensors="pt", **({"images": images} if images else {}))
    rest = literal_ids(tokenizer, before[start:] + prompt + after[:end]) + \
        tokenizer(after[end:], add_special_tokens=False)["input_ids"]
    for key in ("input_ids", "attention_mask", "mm_token_type_ids", "token_type_ids"):
        if key in batch:
            fill = rest if key == "input_ids" else [int(key == "attention_mask")] * len(rest)
            batch[key] = torch.cat([batch[key][0], torch.tensor(fill, dtype=batch[key].dtype)])[None]
    return batch


def _shrink(im, max_pixels: int):
    if im.size[0] * im.size[1] <= max_pixels:
        return im
    scale = (max_pixels / (im.size[0] * im.size[1])) ** 0.5
    return im.resize((max(1, int(im.size[0] * scale)), max(1, int(im.size[1] * scale))))
