"""`umer1 serve`: an OpenAI-compatible embeddings server (POST /v1/embeddings)."""
from __future__ import annotations

NAME = "serve"
HELP = "serve a UME model over HTTP with an OpenAI-compatible /v1/embeddings API"


def add_arguments(p):
    p.add_argument("--model", required=True, help="model directory or hub id")
    p.add_argument("--served-model-name", default=None,
                   help="the id clients pass as `model` (default: the --model value)")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default: loopback only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--api-key-env", default=None, metavar="VAR",
                   help="require 'Authorization: Bearer $VAR' (the key is read from this variable)")
    p.add_argument("--mode", choices=["disc", "gen"], default="disc",
                   help="mode of requests that do not name one")
    p.add_argument("--max-batch-size", type=int, default=32)
    p.add_argument("--max-wait-ms", type=float, default=5.0,
                   help="how long the first request of a batch waits for others")
    p.add_argument("--max-new-tokens", type=int, default=8192, help="gen mode token cap")
    p.add_argument("--max-inputs", type=int, default=256, help="inputs per request")
    p.add_argument("--max-image-bytes", type=int, default=8 * 1024 * 1024)
    p.add_argument("--max-image-pixels", type=int, default=16_000_000)
    p.add_argument("--request-timeout", type=float, default=120.0, help="seconds")
    p.add_argument("--allow-remote-images", action="store_true",
                   help="fetch http(s) image URLs (off: only data URLs are accepted)")
    p.add_argument("--dtype", default=None, help="float32, bfloat16, float16 or auto")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ...")
    p.add_argument("--attn-implementation", default=None)
    p.add_argument("--adapter", default=None, help="PEFT adapter directory")


def run(args) -> int:
    import logging

    from umer1.utils.errors import InputError
    from umer1.engine.model import UMEModel
    from umer1.serve import ServeConfig, ServeLimits, create_app, serve_forever
    from umer1.cli.commands._env import secret_from_env
    from umer1.serve.app import is_loopback

    log = logging.getLogger("umer1.serve")
    api_key = secret_from_env(args.api_key_env) if args.api_key_env else None
    for name in ("max_batch_size", "max_inputs", "max_image_bytes", "max_image_pixels"):
        if getattr(args, name) < 1:
            raise InputError("must be at least 1", field="--" + name.replace("_", "-"))
    if not is_loopback(args.host) and api_key is None:
        log.warning("serving on %s without an API key: anyone who can reach this address can "
                    "use the model (see --api-key-env)", args.host)
    model = UMEModel.from_pretrained(args.model, dtype=args.dtype, device=args.device,
                                     attn_implementation=args.attn_implementation,
                                     adapter=args.adapter)
    limits = ServeLimits(max_inputs_per_request=args.max_inputs,
                         max_image_bytes=args.max_image_bytes,
                         max_image_pixels=args.max_image_pixels,
                         request_timeout_s=args.request_timeout,
                         allow_remote_images=args.allow_remote_images)
    config = ServeConfig(model_name=args.served_model_name or args.model, default_mode=args.mode,
                         api_key=api_key, max_batch_size=args.max_batch_size,
                         max_wait_s=args.max_wait_ms / 1000, max_new_tokens=args.max_new_tokens,
                         limits=limits)
    log.info("serving %s (%s mode by default) on http://%s:%d/v1", config.model_name, args.mode,
             args.host, args.port)
    serve_forever(create_app(model, config), args.host, args.port)
    return 0
