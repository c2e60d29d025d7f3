"""One `POST /v1/embeddings` body -> validated inputs, or an APIError naming the bad field.

OpenAI fields: model, input (a string or a list of strings), encoding_format, dimensions, user.
Extensions: `mode` ("disc" | "gen") and vLLM-style chat `messages`, whose user content parts
(`text`, `image_url`) make ONE input (images first, as the UME-R1 prompt puts them).
Every size is checked against ServeLimits: characters first (cheap), then tokens.
"""
from __future__ import annotations

from dataclasses import dataclass

from umer1.engine.inputs import EmbedInput
from umer1.engine.params import Mode, parse_mode
from umer1.serve.errors import APIError, bad_request
from umer1.serve.images import decode_image
from umer1.serve.limits import ServeLimits
from umer1.serve.text import TokenCounter
from umer1.utils.errors import InputError

ENCODINGS = ("float", "base64")
KNOWN_FIELDS = {"model", "input", "messages", "encoding_format", "dimensions", "user", "mode"}


@dataclass
class EmbeddingRequest:
    items: list[EmbedInput]
    tokens: list[int]            # text tokens per input (usage, and the batcher's cost)
    mode: Mode
    encoding_format: str
    dimensions: int | None


def parse_request(body, *, limits: ServeLimits, model_names: set[str], default_mode: Mode,
                  hidden_size: int, counter: TokenCounter) -> EmbeddingRequest:
    if not isinstance(body, dict):
        raise bad_request("the request body must be a JSON object")
    unknown = sorted(set(body) - KNOWN_FIELDS)
    if unknown:
        raise bad_request(f"unknown field {unknown[0]!r}", unknown[0], "unknown_field")
    model = body.get("model")
    if model is not None and not isinstance(model, str):
        raise bad_request("'model' must be a string", "model")
    if model is not None and model not in model_names:
        raise APIError(404, f"the model {model!r} does not exist; this server serves "
                       f"{sorted(model_names)[0]!r}", param="model", code="model_not_found")
    if body.get("user") is not None and not isinstance(body["user"], str):
        raise bad_request("'user' must be a string", "user")
    mode = _mode(body.get("mode"), default_mode)
    fmt = body.get("encoding_format")
    fmt = "float" if fmt is None else fmt
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
    if has_input:
        texts, params = _input_texts(body["input"], limits)
        items = [EmbedInput(text=t) for t in texts]
    else:
        item = _messages(body["messages"], limits)
        texts, params, items = [item.text], ["messages"], [item]
    return EmbeddingRequest(items, _count(texts, params, limits, counter), mode, fmt, dims)


def _mode(value, default: Mode) -> Mode:
    if value is None:
        return default
    try:
        return parse_mode(value)
    except InputError as exc:
        raise bad_request(exc.message, "mode", "invalid_mode") from None


def _text(value, param: str, limits: ServeLimits) -> str:
    if not isinstance(value, str):
        raise bad_request("must be a string", param)
    if not value.strip():
        raise bad_request("an input must not be empty", param, "empty_input")
    _check_chars(value, param, limits)
    return value


def _check_chars(text: str, param: str, limits: ServeLimits) -> None:
    if len(text) > limits.max_text_chars:
        raise bad_request(f"an input has {len(text)} characters, over the limit of "
                          f"{limits.max_text_chars}", param, "input_too_long")


def _input_texts(value, limits: ServeLimits) -> tuple[list[str], list[str]]:
    if isinstance(value, str):
        return [_text(value, "input", limits)], ["input"]
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
    params = [f"input[{i}]" for i in range(len(value))]
    return [_text(v, p, limits) for v, p in zip(value, params)], params


def _count(texts: list[str], params: list[str], limits: ServeLimits,
           counter: TokenCounter) -> list[int]:
    """Token counts per text: the request's characters are bounded before anything is
    tokenized, so tokenizing costs at most max_request_chars."""
    where = "messages" if params == ["messages"] else "input"
    chars = sum(len(t) for t in texts)
    if chars > limits.max_request_chars:
        raise APIError(413, f"the request's texts have {chars} characters, over the limit of "
                       f"{limits.max_request_chars}", param=where, code="request_too_large")
    tokens = []
    for text, param in zip(texts, params):
        n = counter.count(text, param)
        if n > limits.max_text_tokens:
            raise bad_request(f"an input has {n} tokens, over the limit of "
                              f"{limits.max_text_tokens}", param, "input_too_long")
        tokens.append(n)
    if sum(tokens) > limits.max_request_tokens:
        raise APIError(413, f"the request's texts have {sum(tokens)} tokens, over the limit of "
                       f"{limits.max_request_tokens}", param=where, code="request_too_large")
    return tokens


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
                _check_chars(part["text"], f"{pw}.text", limits)
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
    _check_chars(text, "messages", limits)
    item = EmbedInput(text=text, images=images)
    if item.is_empty():
        raise bad_request("the messages hold no text and no image", "messages", "empty_input")
    return item
