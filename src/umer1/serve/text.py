"""Counting the tokens of client text with the model's tokenizer, off the model worker.

The counter holds its own copy of the fast (Rust) tokenizer: the worker's processor changes
padding settings on the shared one, and a concurrent call from a request thread would then
fail. Text that spells one of the tokenizer's added tokens (`<|image_pad|>`, `<disc_emb>`,
`<|im_end|>`, ...) is refused for now: such a literal is read as the control token itself, so
it either breaks the prompt (an image placeholder without an image) or silently moves where
the embedding is read.
"""
from __future__ import annotations

import threading

from tokenizers import Tokenizer

from umer1.serve.errors import bad_request


class TokenCounter:
    def __init__(self, tokenizer):
        self._tok = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())
        self._tok.no_padding()
        self._tok.no_truncation()
        self._added = {i: t for t, i in tokenizer.get_added_vocab().items()}
        self._lock = threading.Lock()

    def count(self, text: str, param: str) -> int:
        """The number of tokens of `text`; a 400 naming `param` if it spells an added token."""
        with self._lock:
            ids = self._tok.encode(text, add_special_tokens=False).ids
        control = next((self._added[i] for i in ids if i in self._added), None)
        if control is not None:
            raise bad_request(f"the text contains the model's control token {control!r}; remove "
                              "it (control tokens are not accepted in client text)", param,
                              "control_token_in_input")
        return len(ids)
