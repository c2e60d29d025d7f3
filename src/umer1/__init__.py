"""umer1: reasoning-driven generative multimodal embeddings (the UME-R1 method)."""
from umer1.errors import InputError
from umer1.inputs import EmbedInput
from umer1.model import GenerationOutput, UMEModel
from umer1.prompts import GENERATION_PROMPT, render

__version__ = "0.1.0"
__all__ = ["UMEModel", "EmbedInput", "GenerationOutput", "InputError", "GENERATION_PROMPT",
           "render", "__version__"]
