"""Running the app: `run_server(ServeOptions)` in the foreground (what `umer1 serve` calls),
`BackgroundServer` in a daemon thread on a socket bound here (tests, benchmarks)."""
from __future__ import annotations

import logging
import socket
import threading
import time
from dataclasses import dataclass

from umer1.engine.params import Mode
from umer1.serve.app import ServeConfig, create_app
from umer1.serve.limits import SERVE_MAX_NEW_TOKENS, ServeLimits
from umer1.serve.media import MediaDir
from umer1.utils.errors import InputError

log = logging.getLogger("umer1.serve")
LOOPBACK = ("127.0.0.1", "::1", "localhost")


@dataclass
class ServeOptions:
    """Everything `umer1 serve` is told: where to listen, what to load, how to batch, the caps."""
    model: str
    served_model_name: str | None = None
    host: str = "127.0.0.1"
    port: int = 8000
    api_key: str | None = None
    mode: Mode | str = Mode.DISC
    max_batch_size: int = 32
    max_gen_batch_size: int = 4
    max_wait_ms: float = 5.0
    max_new_tokens: int = SERVE_MAX_NEW_TOKENS
    max_inputs: int = 256
    max_text_tokens: int = 8_192
    max_image_bytes: int = 8 * 1024 * 1024
    max_image_pixels: int = 16_000_000
    request_timeout: float = 120.0
    allow_remote_images: bool = False
    dtype: str | None = None
    device: str | None = None
    attn_implementation: str | None = None
    adapter: str | None = None
    search_media: str | None = None    # the search page's thumbnail folder

    def config(self) -> ServeConfig:
        """The app's config; an InputError naming the option for a bad value."""
        for name in ("max_batch_size", "max_gen_batch_size"):
            if getattr(self, name) < 1:
                raise InputError("must be at least 1", field=_option(name))
        if self.search_media is not None:
            MediaDir(self.search_media)     # an InputError now, not after the model loads
        try:
            limits = ServeLimits(max_inputs_per_request=self.max_inputs,
                                 max_text_tokens=self.max_text_tokens,
                                 max_image_bytes=self.max_image_bytes,
                                 max_image_pixels=self.max_image_pixels,
                                 max_new_tokens=self.max_new_tokens,
                                 request_timeout_s=self.request_timeout,
                                 allow_remote_images=self.allow_remote_images)
        except InputError as exc:
            raise InputError(exc.message, field=_option(_LIMIT_OPTIONS.get(exc.field, exc.field)))
        return ServeConfig(model_name=self.served_model_name or self.model, default_mode=self.mode,
                           api_key=self.api_key, max_batch_size=self.max_batch_size,
                           max_gen_batch_size=self.max_gen_batch_size,
                           max_wait_s=self.max_wait_ms / 1000, limits=limits,
                           search_media=self.search_media)


# ServeLimits field -> the ServeOptions field that sets it, where the names differ
_LIMIT_OPTIONS = {"max_inputs_per_request": "max_inputs", "request_timeout_s": "request_timeout"}


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def run_server(options: ServeOptions, search=None) -> int:
    """Check the options, load the model, serve until interrupted. `search(model)`, if given,
    returns the search page's backend for the loaded model (`umer1.serve.search`)."""
    from umer1.engine.model import UMEModel

    config = options.config()   # before the model loads: a bad option costs nothing
    if not is_loopback(options.host) and options.api_key is None:
        log.warning("serving on %s without an API key: anyone who can reach this address can "
                    "use the model (see --api-key-env)", options.host)
    model = UMEModel.from_pretrained(options.model, dtype=options.dtype, device=options.device,
                                     attn_implementation=options.attn_implementation,
                                     adapter=options.adapter)
    backend = search(model) if search is not None else None
    log.info("serving %s (%s mode by default) on http://%s:%d/v1", config.model_name,
             config.default_mode, options.host, options.port)
    if backend is not None:
        log.info("search page on http://%s:%d/search", options.host, options.port)
    serve_forever(create_app(model, config, search=backend), options.host, options.port)
    return 0


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
