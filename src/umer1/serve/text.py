"""Counting the tokens of client text with the model's tokenizer, off the model worker.

The counter holds its own copy of the fast (Rust) tokenizer: the worker's processor changes
padding settings on the shared one, and a concurrent call from a request thread would then
fail. Text is counted as the engine tokenizes it: literally, so `<|image_pad|>` or
`<disc_emb>` typed by a client is text (`umer1.engine.literal`), never a control token.
"""
from __future__ import annotations

import threading

from tokenizers import Tokenizer

from umer1.engine.literal import literal_ids


class TokenCounter:
    def __init__(self, tokenizer):
        self._tok = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
        self._tok.no_padding()
        self._tok.no_truncation()
        self._lock = threading.Lock()

    def count(self, text: str, param: str) -> int:
        """The number of tokens of `text`, tokenized literally (`param` names it in errors)."""
        with self._lock:
            return len(literal_ids(self._tok, text))
