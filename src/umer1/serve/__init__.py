"""An OpenAI-compatible embeddings server for UME models (`umer1 serve`)."""
from umer1.serve.app import BackgroundServer, ServeConfig, create_app, serve_forever
from umer1.serve.batcher import DynamicBatcher
from umer1.serve.limits import ServeLimits

__all__ = ["BackgroundServer", "DynamicBatcher", "ServeConfig", "ServeLimits", "create_app",
           "serve_forever"]
