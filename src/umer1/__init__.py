"""umer1: reasoning-driven generative multimodal embeddings (the UME-R1 method)."""
from umer1.utils.errors import InputError
from umer1.engine.inputs import EmbedInput
from umer1.engine.model import GenerationOutput, UMEModel
from umer1.engine.prompts import GENERATION_PROMPT, render

__version__ = "0.1.0"
__all__ = ["UMEModel", "EmbedInput", "GenerationOutput", "InputError", "GENERATION_PROMPT",
           "render", "__version__"]
