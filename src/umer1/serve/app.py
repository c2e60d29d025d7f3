"""The HTTP app: an OpenAI-compatible embeddings API in front of one UMEModel.

`create_app(model, config)` builds the FastAPI app; `umer1.serve.server` runs it.
"""
from __future__ import annotations

import asyncio
import base64
import contextlib
import hmac
import logging
import time
from dataclasses import dataclass, field

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from umer1.engine.params import Mode, parse_mode
from umer1.serve.batcher import DynamicBatcher, Overloaded
from umer1.serve.body import read_json
from umer1.serve.encode import make_encode_fn
from umer1.serve.errors import APIError, error_response
from umer1.serve.limits import ServeLimits
from umer1.serve.media import MediaDir
from umer1.serve.request import EmbeddingRequest, parse_request
from umer1.serve.search import SearchBackend, add_search_routes
from umer1.serve.text import TokenCounter
from umer1.utils.errors import InputError

log = logging.getLogger(__name__)
DISCONNECT_POLL_S = 0.25   # how often a waiting request checks that its client is still there


@dataclass
class ServeConfig:
    model_name: str                      # the id clients pass as `model`
    default_mode: Mode = Mode.DISC
    api_key: str | None = None           # None: no authentication
    max_batch_size: int = 32             # disc inputs per model call
    max_gen_batch_size: int = 4          # gen inputs per model call (one slice of gen work)
    max_batch_tokens: int = 32_768       # text tokens per model call (at least one input)
    max_wait_s: float = 0.005
    limits: ServeLimits = field(default_factory=ServeLimits)
    search_media: str | None = None      # the search page's thumbnails come from here only

    def __post_init__(self):
        self.default_mode = parse_mode(self.default_mode, "default_mode")


def format_embeddings(emb: np.ndarray, req: EmbeddingRequest) -> list:
    """Truncate to `dimensions` (then renormalise: a prefix of a unit vector is not one)."""
    emb = np.asarray(emb, dtype=np.float32)
    if req.dimensions is not None and req.dimensions < emb.shape[1]:
        emb = emb[:, :req.dimensions]
        emb = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
    if req.encoding_format == "base64":   # little-endian float32 bytes, as OpenAI sends them
        return [base64.b64encode(row.astype("<f4").tobytes()).decode("ascii") for row in emb]
    return emb.tolist()


def create_app(model, config: ServeConfig, *, encode_fn=None,
               search: SearchBackend | None = None) -> FastAPI:
    """`search`: the search page's backend (`umer1.integrations.search_page`); None: no page."""
    limits = config.limits
    media = MediaDir(config.search_media) if config.search_media is not None else None
    names = {config.model_name}
    counter = TokenCounter(model.processor.tokenizer)
    batcher = DynamicBatcher(
        encode_fn or make_encode_fn(model, max_new_tokens=limits.max_new_tokens),
        max_batch_size=config.max_batch_size, max_gen_batch_size=config.max_gen_batch_size,
        max_batch_tokens=config.max_batch_tokens, max_wait_s=config.max_wait_s,
        max_queued_inputs=limits.max_queued_inputs)
    created = int(time.time())

    @contextlib.asynccontextmanager
    async def lifespan(app):
        batcher.start()
        try:
            yield
        finally:
            batcher.close()

    app = FastAPI(title="umer1 embeddings", lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.batcher = batcher
    app.state.config = config

    @app.exception_handler(APIError)
    async def _api_error(request, exc: APIError):
        return exc.response()

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request, exc: StarletteHTTPException):
        return error_response(exc.status_code, str(exc.detail))

    @app.exception_handler(Exception)
    async def _internal(request, exc: Exception):
        log.exception("internal error")
        return error_response(500, "internal server error", type="server_error")

    def authorized(request: Request) -> bool:
        if config.api_key is None:
            return True
        auth = request.headers.get("authorization", "")
        given = auth[7:] if auth.lower().startswith("bearer ") else ""
        return hmac.compare_digest(given.encode(), config.api_key.encode())

    def check_key(request: Request) -> None:
        if not authorized(request):
            raise APIError(401, "incorrect or missing API key (send 'Authorization: Bearer KEY')",
                           code="invalid_api_key")

    @app.get("/health")
    async def health(request: Request):
        """The status for anyone (load balancers); the model id and counters only with the key."""
        alive = batcher.alive
        body = {"status": "ok" if alive else "unavailable"}
        if authorized(request):
            s = batcher.stats
            body.update(model=config.model_name, queued_inputs=batcher.queued_inputs,
                        requests=s.requests, batches=s.batches, inputs=s.inputs,
                        largest_batch=s.largest_batch, cancelled_inputs=s.cancelled_inputs)
        return JSONResponse(body, status_code=200 if alive else 503)

    @app.get("/v1/models")
    async def models(request: Request):
        check_key(request)
        return {"object": "list", "data": [{
            "id": config.model_name, "object": "model", "created": created, "owned_by": "umer1",
            "embedding_dimension": model.hidden_size, "modes": [m.value for m in Mode],
            "default_mode": config.default_mode.value}]}

    @app.post("/v1/embeddings")
    async def embeddings(request: Request):
        check_key(request)
        body = await read_json(request, limits)
        req = await run_in_threadpool(parse_request, body, limits=limits, model_names=names,
                                      default_mode=config.default_mode,
                                      hidden_size=model.hidden_size, counter=counter)
        try:
            fut = batcher.submit(req.items, req.mode, req.tokens)
        except Overloaded:
            raise APIError(503, "the server is overloaded; retry later",
                           code="overloaded") from None
        except RuntimeError:     # closed: the server is shutting down
            raise APIError(503, "the server is shutting down", code="unavailable") from None
        try:
            emb = await _result(request, fut, limits.request_timeout_s)
        except InputError as exc:
            raise APIError(400, exc.one_line(), param=exc.field, code="invalid_input") from None
        data = format_embeddings(emb, req)
        n = int(sum(req.tokens))
        return {"object": "list", "model": config.model_name,
                "data": [{"object": "embedding", "index": i, "embedding": e}
                         for i, e in enumerate(data)],
                "usage": {"prompt_tokens": n, "total_tokens": n}}

    add_search_routes(app, backend=search, media=media, batcher=batcher, limits=limits,
                      counter=counter, check_key=check_key,
                      wait=lambda request, fut: _result(request, fut, limits.request_timeout_s))
    return app


async def _result(request: Request, fut, timeout_s: float):
    """The batcher's result; the work is cancelled when the time is up or the client leaves."""
    waiting = asyncio.wrap_future(fut)
    deadline = time.monotonic() + timeout_s
    while True:
        left = deadline - time.monotonic()
        done, _ = await asyncio.wait({waiting}, timeout=max(0.0, min(DISCONNECT_POLL_S, left)))
        if done:
            return waiting.result()
        if left <= 0:
            fut.cancel()
            raise APIError(504, f"the request took longer than {timeout_s:g} s", code="timeout")
        if await request.is_disconnected():
            fut.cancel()
            raise APIError(499, "the client closed the connection", code="client_closed")
