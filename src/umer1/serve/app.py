"""The HTTP server: an OpenAI-compatible embeddings API in front of one UMEModel.

`create_app(model, config)` builds the FastAPI app; `BackgroundServer` runs it with uvicorn
in a thread (tests, benchmarks); `serve_forever` runs it in the foreground (the CLI).
"""
from __future__ import annotations

import asyncio
import base64
import contextlib
import hmac
import json
import logging
import socket
import threading
import time
from dataclasses import dataclass, field

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from umer1.utils.errors import InputError
from umer1.serve.batcher import DynamicBatcher, Overloaded
from umer1.serve.errors import APIError, error_response
from umer1.serve.limits import ServeLimits
from umer1.serve.request import EmbeddingRequest, parse_request

log = logging.getLogger(__name__)
LOOPBACK = ("127.0.0.1", "::1", "localhost")


@dataclass
class ServeConfig:
    model_name: str                      # the id clients pass as `model`
    default_mode: str = "disc"
    api_key: str | None = None           # None: no authentication
    max_batch_size: int = 32
    max_wait_s: float = 0.005
    max_new_tokens: int = 8192           # gen mode: greedy decoding up to this many tokens
    limits: ServeLimits = field(default_factory=ServeLimits)


def make_encode_fn(model, *, batch_size: int, max_new_tokens: int):
    """The one function the worker thread calls: embeddings plus text-token counts (usage)."""
    tokenizer = model.processor.tokenizer

    def encode(items, mode):
        emb = model.encode(items, mode=mode, batch_size=batch_size, max_new_tokens=max_new_tokens,
                           normalize_embeddings=True)
        ids = tokenizer([it.text for it in items], add_special_tokens=False)["input_ids"]
        return emb, [len(x) for x in ids]
    return encode


def format_embeddings(emb: np.ndarray, req: EmbeddingRequest) -> list:
    """Truncate to `dimensions` (then renormalise: a prefix of a unit vector is not one)."""
    emb = np.asarray(emb, dtype=np.float32)
    if req.dimensions is not None and req.dimensions < emb.shape[1]:
        emb = emb[:, :req.dimensions]
        emb = emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
    if req.encoding_format == "base64":   # little-endian float32 bytes, as OpenAI sends them
        return [base64.b64encode(row.astype("<f4").tobytes()).decode("ascii") for row in emb]
    return emb.tolist()


def create_app(model, config: ServeConfig, *, encode_fn=None) -> FastAPI:
    limits = config.limits
    names = {config.model_name}
    batcher = DynamicBatcher(
        encode_fn or make_encode_fn(model, batch_size=config.max_batch_size,
                                    max_new_tokens=config.max_new_tokens),
        max_batch_size=config.max_batch_size, max_wait_s=config.max_wait_s,
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

    def check_key(request: Request) -> None:
        if config.api_key is None:
            return
        auth = request.headers.get("authorization", "")
        given = auth[7:] if auth.lower().startswith("bearer ") else ""
        if not hmac.compare_digest(given.encode(), config.api_key.encode()):
            raise APIError(401, "incorrect or missing API key (send 'Authorization: Bearer KEY')",
                           code="invalid_api_key")

    @app.get("/health")
    async def health():
        alive = batcher._thread is not None and batcher._thread.is_alive()
        s = batcher.stats
        body = {"status": "ok" if alive else "unavailable", "model": config.model_name,
                "queued_inputs": batcher.queued_inputs, "requests": s.requests,
                "batches": s.batches, "inputs": s.inputs, "largest_batch": s.largest_batch}
        return JSONResponse(body, status_code=200 if alive else 503)

    @app.get("/v1/models")
    async def models(request: Request):
        check_key(request)
        return {"object": "list", "data": [{
            "id": config.model_name, "object": "model", "created": created, "owned_by": "umer1",
            "embedding_dimension": model.hidden_size, "modes": ["disc", "gen"],
            "default_mode": config.default_mode}]}

    @app.post("/v1/embeddings")
    async def embeddings(request: Request):
        check_key(request)
        body = _parse_json(await _read_body(request, limits.max_request_bytes))
        req = await run_in_threadpool(parse_request, body, limits=limits, model_names=names,
                                      default_mode=config.default_mode,
                                      hidden_size=model.hidden_size)
        try:
            fut = batcher.submit(req.items, req.mode)
        except Overloaded:
            raise APIError(503, "the server is overloaded; retry later", code="overloaded") from None
        except RuntimeError:     # closed: the server is shutting down
            raise APIError(503, "the server is shutting down", code="unavailable") from None
        try:
            emb, tokens = await asyncio.wait_for(asyncio.wrap_future(fut), limits.request_timeout_s)
        except asyncio.TimeoutError:
            raise APIError(504, f"the request took longer than {limits.request_timeout_s:g} s",
                           code="timeout") from None
        except InputError as exc:
            raise APIError(400, exc.one_line(), param=exc.field, code="invalid_input") from None
        data = format_embeddings(emb, req)
        n = int(sum(tokens))
        return {"object": "list", "model": config.model_name,
                "data": [{"object": "embedding", "index": i, "embedding": e}
                         for i, e in enumerate(data)],
                "usage": {"prompt_tokens": n, "total_tokens": n}}

    return app


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise APIError(413, f"the request body is larger than {limit} bytes",
                       code="request_too_large")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise APIError(413, f"the request body is larger than {limit} bytes",
                           code="request_too_large")
        chunks.append(chunk)
    return b"".join(chunks)


def _parse_json(raw: bytes):
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise APIError(400, f"the body is not valid JSON: {exc}", code="invalid_json") from None


def is_loopback(host: str) -> bool:
    return host in LOOPBACK or host.startswith("127.")


def _uvicorn_config(app, **kw):
    import uvicorn
    return uvicorn.Config(app, log_level=kw.pop("log_level", "warning"), lifespan="on",
                          access_log=False, **kw)


class BackgroundServer:
    """uvicorn in a daemon thread on a socket bound here (port 0 = a free port)."""

    def __init__(self, app, host: str = "127.0.0.1", port: int = 0):
        import uvicorn
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.host, self.port = host, self.sock.getsockname()[1]
        self.server = uvicorn.Server(_uvicorn_config(app))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       name="umer1-http", daemon=True)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 30.0) -> "BackgroundServer":
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the server did not start")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout)
        self.sock.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def serve_forever(app, host: str, port: int) -> None:
    import uvicorn
    uvicorn.Server(_uvicorn_config(app, host=host, port=port, log_level="info")).run()
