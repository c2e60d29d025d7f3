"""The search page (opt-in): `GET /search`, its static files, `POST /search/query`, thumbnails.

The server does not know indexes: the app is given a `SearchBackend` (a callable built by
`umer1.integrations.search_page` from index directories). A query runs as one call on the
model worker (`DynamicBatcher.submit_call`), so the model never runs on two threads, and it is
bounded by the same limits as an embedding request. Without a backend every search route
answers 404 `search_disabled`, saying how to turn the page on.

The query body is JSON: {"text"?: str, "image"?: "data:image/...;base64,...", "top_k"?: int}.
"""
from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from typing import Any, Protocol, Sequence

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, Response
from starlette.concurrency import run_in_threadpool

from umer1.engine.inputs import EmbedInput
from umer1.serve.body import read_json
from umer1.serve.errors import APIError, bad_request
from umer1.serve.images import decode_image
from umer1.serve.limits import ServeLimits
from umer1.serve.media import MEDIA_ROUTE, MediaDir
from umer1.serve.text import TokenCounter
from umer1.utils.errors import InputError

STATIC = {"index.html": "text/html; charset=utf-8", "search.css": "text/css; charset=utf-8",
          "search.js": "text/javascript; charset=utf-8"}
# The page loads nothing from elsewhere; thumbnails arrive as blob: URLs (fetched with the key).
HEADERS = {"Content-Security-Policy": "default-src 'self'; img-src 'self' blob: data:; "
                                      "object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
           "X-Content-Type-Options": "nosniff", "Cache-Control": "no-store"}
QUERY_FIELDS = {"text", "image", "top_k"}
DEFAULT_TOP_K = 10
SNIPPET_CHARS = 300


@dataclass
class SearchHit:
    rank: int
    id: Any
    score: float
    text: str | None = None          # the hit's text (the page shows a snippet)
    image: str | None = None         # its image path as the corpus gave it
    reasoning: str | None = None     # gen-mode index: the reasoning generated for this row


@dataclass
class ModeResult:
    mode: str                        # "disc" or "gen"
    hits: list[SearchHit]
    reasoning: str | None = None     # gen mode: the query's own reasoning


@dataclass
class SearchQuery:
    input: EmbedInput
    top_k: int


class SearchBackend(Protocol):
    def describe(self) -> list[dict]:
        """One {"mode", "count", "kind", "name"} per index, for the page's header."""

    def __call__(self, query: SearchQuery) -> Sequence[ModeResult]:
        """The hits of every index (runs on the model worker)."""


def add_search_routes(app: FastAPI, *, backend: SearchBackend | None, media: MediaDir | None,
                      batcher, limits: ServeLimits, counter: TokenCounter, check_key,
                      wait) -> None:
    """`check_key(request)` raises 401 without the API key; `wait(request, future)` awaits the
    worker's result with the request timeout and cancellation of the embedding routes."""
    if backend is None:
        @app.api_route("/search", methods=["GET", "POST"])
        @app.api_route("/search/{rest:path}", methods=["GET", "POST"])
        async def search_disabled(request: Request):
            raise APIError(404, "the search page is off: start `umer1 serve` with "
                           "--search-index DIR (an index built by `umer1 index build`)",
                           code="search_disabled")
        return

    @app.get("/search")
    async def page():
        return _static("index.html")

    @app.get("/search/static/{name}")
    async def static(name: str):
        if name not in STATIC or name == "index.html":
            raise APIError(404, f"no static file {name!r}", code="not_found")
        return _static(name)

    @app.get("/search/info")
    async def info(request: Request):
        check_key(request)
        return {"indexes": backend.describe(), "max_top_k": limits.max_search_k,
                "max_image_bytes": limits.max_image_bytes, "thumbnails": media is not None}

    @app.post("/search/query")
    async def query(request: Request):
        check_key(request)
        body = await read_json(request, limits)
        q = await run_in_threadpool(parse_query, body, limits, counter)
        try:
            fut = batcher.submit_call(lambda: backend(q))
        except RuntimeError:      # closed (or Overloaded, a RuntimeError too)
            raise APIError(503, "the server is busy or shutting down; retry later",
                           code="unavailable") from None
        try:
            results = await wait(request, fut)
        except InputError as exc:
            raise APIError(400, exc.one_line(), param=exc.field, code="invalid_input") from None
        return {"query": {"text": q.input.text, "image": bool(q.input.images), "top_k": q.top_k},
                "results": {r.mode: _mode_json(r, media) for r in results}}

    @app.get(MEDIA_ROUTE + "{rel:path}")
    async def media_file(rel: str, request: Request):
        check_key(request)
        path = media.resolve(rel) if media is not None else None
        if path is None:
            raise APIError(404, "no such image in the media folder", code="not_found")
        return FileResponse(path, headers={"X-Content-Type-Options": "nosniff",
                                           "Cache-Control": "no-store"})


def parse_query(body, limits: ServeLimits, counter: TokenCounter) -> SearchQuery:
    """A checked query, or an APIError naming the bad field."""
    if not isinstance(body, dict):
        raise bad_request("the request body must be a JSON object")
    unknown = sorted(set(body) - QUERY_FIELDS)
    if unknown:
        raise bad_request(f"unknown field {unknown[0]!r}", unknown[0], "unknown_field")
    text = body.get("text") or ""
    if not isinstance(text, str):
        raise bad_request("'text' must be a string", "text")
    if len(text) > limits.max_text_chars:
        raise bad_request(f"the text has {len(text)} characters, over the limit of "
                          f"{limits.max_text_chars}", "text", "input_too_long")
    if text.strip():
        n = counter.count(text, "text")
        if n > limits.max_text_tokens:
            raise bad_request(f"the text has {n} tokens, over the limit of "
                              f"{limits.max_text_tokens}", "text", "input_too_long")
    images = []
    url = body.get("image")
    if url is not None and url != "":
        if isinstance(url, str) and url.startswith("data:") and not url.startswith("data:image/"):
            kind = url[5:].split(";", 1)[0].split(",", 1)[0] or "unknown"
            raise bad_request(f"the uploaded file is not an image (its type is {kind})", "image",
                              "invalid_image")
        images.append(decode_image(url, "image", limits))
    top_k = body.get("top_k", DEFAULT_TOP_K)
    if isinstance(top_k, bool) or not isinstance(top_k, int) or \
            not 1 <= top_k <= limits.max_search_k:
        raise bad_request(f"top_k must be an integer from 1 to {limits.max_search_k}", "top_k")
    item = EmbedInput(text=text if text.strip() else "", images=images)
    if item.is_empty():
        raise bad_request("the query is empty: type some text or drop an image", "text",
                          "empty_input")
    return SearchQuery(item, top_k)


def _mode_json(r: ModeResult, media: MediaDir | None) -> dict:
    hits = []
    for h in r.hits:
        text = h.text if isinstance(h.text, str) else None
        hits.append({"rank": h.rank, "id": h.id, "score": h.score,
                     "text": text[:SNIPPET_CHARS] if text else None,
                     "thumbnail": media.url_for(h.image) if media is not None else None,
                     "reasoning": h.reasoning})
    return {"hits": hits, "reasoning": r.reasoning}


def _static(name: str) -> Response:
    data = resources.files("umer1").joinpath("resources", "search", name).read_bytes()
    return Response(data, media_type=STATIC[name], headers=HEADERS)
