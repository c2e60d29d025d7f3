"""One `POST /v1/embeddings` body -> validated inputs, or an APIError naming the bad field.

OpenAI fields: model, input (a string or a list of strings), encoding_format, dimensions, user.
Extensions: `mode` ("disc" | "gen") and vLLM-style chat `messages`, whose user content parts
(`text`, `image_url`) make ONE input (images first, as the UME-R1 prompt puts them).
"""
from __future__ import annotations

from dataclasses import dataclass

from umer1.engine.inputs import EmbedInput
from umer1.serve.errors import APIError, bad_request
from umer1.serve.images import decode_image
from umer1.serve.limits import ServeLimits

MODES = ("disc", "gen")
ENCODINGS = ("float", "base64")
KNOWN_FIELDS = {"model", "input", "messages", "encoding_format", "dimensions", "user", "mode"}


@dataclass
class EmbeddingRequest:
    items: list[EmbedInput]
    mode: str
    encoding_format: str
    dimensions: int | None


def parse_request(body, *, limits: ServeLimits, model_names: set[str], default_mode: str,
                  hidden_size: int) -> EmbeddingRequest:
    if not isinstance(body, dict):
        raise bad_request("the request body must be a JSON object")
    unknown = sorted(set(body) - KNOWN_FIELDS)
    if unknown:
        raise bad_request(f"unknown field {unknown[0]!r}", unknown[0], "unknown_field")
    model = body.get("model")
    if model is not None and model not in model_names:
        raise APIError(404, f"the model {model!r} does not exist; this server serves "
                       f"{sorted(model_names)[0]!r}", param="model", code="model_not_found")
    mode = body.get("mode") or default_mode
    if mode not in MODES:
        raise bad_request(f"unknown mode {mode!r}; expected 'disc' or 'gen'", "mode", "invalid_mode")
    fmt = body.get("encoding_format") or "float"
    if fmt not in ENCODINGS:
        raise bad_request(f"unknown encoding_format {fmt!r}; expected 'float' or 'base64'",
                          "encoding_format")
    dims = body.get("dimensions")
    if dims is not None and (isinstance(dims, bool) or not isinstance(dims, int)
                             or not 1 <= dims <= hidden_size):
        raise bad_request(f"dimensions must be an integer from 1 to {hidden_size}", "dimensions")
    has_input, has_messages = body.get("input") is not None, body.get("messages") is not None
    if has_input == has_messages:
        raise bad_request("give exactly one of 'input' or 'messages'",
                          "messages" if has_messages else "input")
    items = (_inputs(body["input"], limits) if has_input
             else [_messages(body["messages"], limits)])
    return EmbeddingRequest(items, mode, fmt, dims)


def _text(value, param: str, limits: ServeLimits) -> str:
    if not isinstance(value, str):
        raise bad_request("must be a string", param)
    if not value.strip():
        raise bad_request("an input must not be empty", param, "empty_input")
    if len(value) > limits.max_text_chars:
        raise bad_request(f"an input is longer than {limits.max_text_chars} characters", param,
                          "input_too_long")
    return value


def _inputs(value, limits: ServeLimits) -> list[EmbedInput]:
    if isinstance(value, str):
        return [EmbedInput(text=_text(value, "input", limits))]
    if not isinstance(value, list):
        raise bad_request("'input' must be a string or a list of strings", "input")
    if not value:
        raise bad_request("'input' must not be an empty list", "input", "empty_input")
    if len(value) > limits.max_inputs_per_request:
        raise bad_request(f"too many inputs: {len(value)} > {limits.max_inputs_per_request} per "
                          "request", "input", "too_many_inputs")
    if any(isinstance(v, (int, list)) for v in value):
        raise bad_request("token-id inputs are not accepted (the model embeds text and images "
                          "through its own prompt); send strings", "input")
    return [EmbedInput(text=_text(v, f"input[{i}]", limits)) for i, v in enumerate(value)]


def _messages(value, limits: ServeLimits) -> EmbedInput:
    """Chat messages -> one input: text parts joined by newlines, image parts in order."""
    if not isinstance(value, list) or not value:
        raise bad_request("'messages' must be a non-empty list of messages", "messages")
    texts, images = [], []
    for m, msg in enumerate(value):
        where = f"messages[{m}]"
        if not isinstance(msg, dict):
            raise bad_request("a message must be an object", where)
        if msg.get("role", "user") != "user":
            raise bad_request("only 'user' messages are accepted: the model's prompt (system "
                              "turn and instruction) is fixed by its embedding format",
                              f"{where}.role")
        content = msg.get("content")
        if isinstance(content, str):
            content = [{"type": "text", "text": content}]
        if not isinstance(content, list):
            raise bad_request("content must be a string or a list of parts", f"{where}.content")
        for p, part in enumerate(content):
            pw = f"{where}.content[{p}]"
            kind = part.get("type") if isinstance(part, dict) else None
            if kind == "text":
                if not isinstance(part.get("text"), str):
                    raise bad_request("a text part needs a string 'text'", f"{pw}.text")
                texts.append(part["text"])
            elif kind == "image_url":
                url = part.get("image_url")
                url = url.get("url") if isinstance(url, dict) else url
                if len(images) >= limits.max_images_per_input:
                    raise bad_request(f"more than {limits.max_images_per_input} images in one "
                                      "input", pw, "too_many_images")
                images.append(decode_image(url, f"{pw}.image_url.url", limits))
            else:
                raise bad_request(f"unsupported content part type {kind!r}; expected 'text' or "
                                  "'image_url'", f"{pw}.type")
    text = "\n".join(t for t in texts if t.strip())
    if len(text) > limits.max_text_chars:
        raise bad_request(f"the text is longer than {limits.max_text_chars} characters",
                          "messages", "input_too_long")
    item = EmbedInput(text=text, images=images)
    if item.is_empty():
        raise bad_request("the messages hold no text and no image", "messages", "empty_input")
    return item
