"""`umer1 serve`: an OpenAI-compatible embeddings server (POST /v1/embeddings)."""
from __future__ import annotations

NAME = "serve"
HELP = "serve a UME model over HTTP with an OpenAI-compatible /v1/embeddings API"


def add_arguments(p):
    from umer1.engine.params import MODES
    from umer1.serve.limits import HARD_MAX_NEW_TOKENS, SERVE_MAX_NEW_TOKENS

    p.add_argument("--model", required=True, help="model directory or hub id")
    p.add_argument("--served-model-name", default=None,
                   help="the id clients pass as `model` (default: the --model value)")
    p.add_argument("--host", default="127.0.0.1", help="bind address (default: loopback only)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--api-key-env", default=None, metavar="VAR",
                   help="require 'Authorization: Bearer $VAR' (the key is read from this variable)")
    p.add_argument("--mode", choices=MODES, default="disc",
                   help="mode of requests that do not name one")
    p.add_argument("--max-batch-size", type=int, default=32, help="disc inputs per model call")
    p.add_argument("--max-gen-batch-size", type=int, default=4,
                   help="gen inputs per model call: the slice of gen work between turns")
    p.add_argument("--max-wait-ms", type=float, default=5.0,
                   help="how long the first request of a batch waits for others")
    p.add_argument("--max-new-tokens", type=int, default=SERVE_MAX_NEW_TOKENS,
                   help=f"gen mode reasoning budget per input (at most {HARD_MAX_NEW_TOKENS})")
    p.add_argument("--max-inputs", type=int, default=256, help="inputs per request")
    p.add_argument("--max-text-tokens", type=int, default=8192, help="tokens per text input")
    p.add_argument("--max-image-bytes", type=int, default=8 * 1024 * 1024)
    p.add_argument("--max-image-pixels", type=int, default=16_000_000)
    p.add_argument("--request-timeout", type=float, default=120.0, help="seconds")
    p.add_argument("--allow-remote-images", action="store_true",
                   help="fetch http(s) image URLs (off: only data URLs are accepted)")
    p.add_argument("--dtype", default=None, help="float32, bfloat16, float16 or auto")
    p.add_argument("--device", default=None, help="cpu, cuda, cuda:1 ...")
    p.add_argument("--attn-implementation", default=None)
    p.add_argument("--adapter", default=None, help="PEFT adapter directory")
    p.add_argument("--search-index", action="append", default=[], metavar="DIR",
                   help="serve a search page at /search over this index (repeatable: at most "
                        "one disc and one gen index, built with this model)")
    p.add_argument("--search-media", default=None, metavar="DIR",
                   help="the search page shows thumbnails of corpus images inside this folder "
                        "(the one the corpus image paths are relative to) and of no other file")


def run(args) -> int:
    from dataclasses import fields

    from umer1.cli.commands._env import secret_from_env
    from umer1.serve import ServeOptions, run_server

    given = {f.name: getattr(args, f.name) for f in fields(ServeOptions) if hasattr(args, f.name)}
    api_key = secret_from_env(args.api_key_env) if args.api_key_env else None
    options = ServeOptions(**given, api_key=api_key)
    if not args.search_index:
        if args.search_media is not None:
            from umer1.utils.errors import InputError
            raise InputError("needs --search-index", field="--search-media")
        return run_server(options)
    from umer1.integrations.search_page import IndexSearch
    options.config()     # bad options before the indexes are read
    page = IndexSearch.open(args.search_index, max_new_tokens=options.max_new_tokens)
    return run_server(options, search=page.bind)
