"""An OpenAI-compatible embeddings server for UME models (`umer1 serve`)."""
from umer1.serve.app import ServeConfig, create_app
from umer1.serve.batcher import DynamicBatcher
from umer1.serve.limits import HARD_MAX_NEW_TOKENS, SERVE_MAX_NEW_TOKENS, ServeLimits
from umer1.serve.server import BackgroundServer, ServeOptions, run_server, serve_forever

__all__ = ["BackgroundServer", "DynamicBatcher", "HARD_MAX_NEW_TOKENS", "SERVE_MAX_NEW_TOKENS",
           "ServeConfig", "ServeLimits", "ServeOptions", "create_app", "run_server",
           "serve_forever"]
