"""Reading a request body: bounded in size, in time, and in JSON nesting before it is parsed."""
from __future__ import annotations

import asyncio
import json
import re

import numpy as np
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from umer1.serve.errors import APIError
from umer1.serve.limits import ServeLimits

# A JSON string (the unrolled form is linear in its length) and anything that is not a bracket.
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(rb"[^\[\]{}]+")
_CHUNK = 1 << 20


async def read_json(request: Request, limits: ServeLimits):
    """The parsed body. Parsing a 32 MiB body takes a while: it runs off the event loop."""
    return await run_in_threadpool(parse_json, await read_body(request, limits), limits)


def parse_json(raw: bytes, limits: ServeLimits):
    depth = json_depth(raw, limits.max_json_depth)
    if depth > limits.max_json_depth:
        raise APIError(400, f"the JSON body nests {depth} levels deep, over the limit of "
                       f"{limits.max_json_depth}", code="json_too_deep")
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise APIError(400, f"the body is not valid JSON: {exc}", code="invalid_json") from None


async def read_body(request: Request, limits: ServeLimits) -> bytes:
    limit = limits.max_request_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)

    async def read() -> bytes:
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise _too_large(limit)
            chunks.append(chunk)
        return b"".join(chunks)
    try:
        return await asyncio.wait_for(read(), limits.body_timeout_s)
    except asyncio.TimeoutError:
        raise APIError(408, f"the request body was not received within "
                       f"{limits.body_timeout_s:g} s", code="body_timeout") from None


def json_depth(raw: bytes, limit: int = 0) -> int:
    """The deepest bracket nesting of a JSON text, counted with strings removed, in C-speed
    passes (regex and numpy), so a deeply nested body is refused before the parser recurses.
    A text with at most `limit` opening brackets is not scanned: their count is returned, a
    bound on the depth that is already within the limit."""
    opening = raw.count(b"[") + raw.count(b"{")
    if opening <= limit:
        return opening
    brackets = _NOT_BRACKET.sub(b"", _STRING.sub(b"", raw))
    depth = deepest = 0
    for start in range(0, len(brackets), _CHUNK):   # chunks: bounded memory for a 32 MiB body
        codes = np.frombuffer(brackets[start:start + _CHUNK], np.uint8)
        steps = np.where((codes == ord("[")) | (codes == ord("{")), 1, -1)
        running = depth + np.cumsum(steps, dtype=np.int64)
        deepest, depth = max(deepest, int(running.max())), int(running[-1])
    return deepest


def _too_large(limit: int) -> APIError:
    return APIError(413, f"the request body is larger than {limit} bytes", code="request_too_large")
