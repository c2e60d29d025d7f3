"""A text longer than the model's context is refused, naming the input, before any is embedded."""
import pytest

import umer1.engine.model as model_module
from umer1.engine.inputs import EmbedInput
from umer1.utils.errors import InputError


def test_text_over_the_context_is_refused_before_embedding(tiny_model, monkeypatch):
    limit = tiny_model.max_text_tokens
    assert limit == 32768
    ran = []
    monkeypatch.setattr(tiny_model, "last_hidden_state", lambda batch: ran.append(1))
    for mode in ("disc", "gen"):
        with pytest.raises(InputError) as err:
            tiny_model.encode(["a short text", "a" * (limit + 1)], mode=mode, max_new_tokens=2)
        assert (err.value.row, err.value.field, err.value.kind) == (2, "text", "text_too_long")
        assert f"the text is {limit + 1} tokens, over the limit of {limit}" in str(err.value)
    assert ran == []


def test_only_texts_with_more_bytes_than_the_limit_are_tokenised(tiny_model, monkeypatch):
    counted = []
    monkeypatch.setattr(model_module, "literal_ids", lambda tok, text: counted.append(text) or [])
    tiny_model.check_texts([EmbedInput(text="word " * 100)])
    assert counted == []
    tiny_model.check_texts([EmbedInput(text="é" * 20000)])     # 40,000 bytes: counted, and fits
    assert len(counted) == 1
