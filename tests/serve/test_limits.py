"""Per-request limits (umer1.serve.limits): each over-limit request gets a 4xx in the OpenAI
error shape naming the field, and type confusion in the body is a 400, never a 500."""
from __future__ import annotations

import numpy as np
import httpx
import pytest

from umer1 import InputError
from umer1.serve import HARD_MAX_NEW_TOKENS, SERVE_MAX_NEW_TOKENS, ServeLimits
from umer1.serve.body import json_depth
from tests.serve.test_errors import _error, _image_message
from tests.serve.util import start_server

LIMITS = dict(max_text_chars=400, max_text_tokens=40, max_request_chars=1000,
              max_request_tokens=100)


@pytest.fixture(scope="module")
def small(tiny_model_dir):
    """A server with small text limits, so that each limit is cheap to cross."""
    server, _ = start_server(tiny_model_dir, api_key=None, **LIMITS)
    with server:
        yield server.url


def _post(url, body=None, content=None):
    kw = {"content": content} if content is not None else {"json": body}
    return httpx.post(url + "/v1/embeddings", headers={"content-type": "application/json"},
                      timeout=30, **kw)


@pytest.mark.parametrize("body,status,code,param", [
    ({"input": "x", "mode": []}, 400, "invalid_mode", "mode"),
    ({"input": "x", "mode": ""}, 400, "invalid_mode", "mode"),
    ({"input": "x", "mode": {"gen": 1}}, 400, "invalid_mode", "mode"),
    ({"input": "x", "encoding_format": []}, 400, None, "encoding_format"),
    ({"input": "x", "model": []}, 400, None, "model"),
    ({"input": "x", "model": {"a": 1}}, 400, None, "model"),
    ({"input": "x", "user": 5}, 400, None, "user"),
    ({"input": "x " * 30}, 400, "input_too_long", "input"),                 # 60 chars, 60 tokens
    ({"input": ["ok", "y " * 30]}, 400, "input_too_long", "input[1]"),
    ({"input": "z" * 401}, 400, "input_too_long", "input"),                 # characters first
    ({"input": ["x " * 15] * 4}, 413, "request_too_large", "input"),        # 120 tokens in all
    ({"input": ["v" * 300] * 4}, 413, "request_too_large", "input"),        # 1200 characters
    ({"messages": [{"content": [{"type": "text", "text": "u" * 401}]}]}, 400, "input_too_long",
     "messages[0].content[0].text"),
    ({"messages": [{"content": "x " * 30}]}, 400, "input_too_long", "messages"),
])
def test_over_limit_and_malformed(small, body, status, code, param):
    _error(_post(small, body), status, code, param)


def test_message_names_the_limit(small):
    err = _error(_post(small, {"input": "x " * 30}), 400, "input_too_long")
    assert "tokens" in err["message"] and "40" in err["message"]


@pytest.mark.parametrize("depth", [33, 100_000])
def test_deep_json_is_400(small, depth):
    body = b'{"input": ' + b"[" * depth + b"]" * depth + b"}"
    err = _error(_post(small, content=body), 400, "json_too_deep")
    assert str(depth + 1) in err["message"]


def test_json_depth_ignores_brackets_in_strings():
    assert json_depth(b'{"input": "[[[[{{{{ \\" [[["}', 0) == 1
    assert json_depth(b'[{"a": [1, [2]]}]', 0) == 4
    assert json_depth(b'[[1]]', 10) <= 10          # few brackets: not scanned, bound returned


def test_within_limits_still_served(small):
    r = _post(small, {"input": ["x " * 20], "mode": "disc"})    # exactly at the token limit
    assert r.status_code == 200, r.text
    assert r.json()["usage"]["prompt_tokens"] == 40
    r = _post(small, {"messages": _image_message("data:image/png;base64,@@@")})
    assert r.status_code == 400     # images keep their own checks


def test_gen_budget_default_and_hard_cap():
    assert ServeLimits().max_new_tokens == SERVE_MAX_NEW_TOKENS == 512
    assert ServeLimits(max_new_tokens=HARD_MAX_NEW_TOKENS).max_new_tokens == HARD_MAX_NEW_TOKENS
    with pytest.raises(InputError) as exc:
        ServeLimits(max_new_tokens=HARD_MAX_NEW_TOKENS + 1)
    assert exc.value.field == "max_new_tokens"
    with pytest.raises(InputError):
        ServeLimits(max_text_tokens=0)


def test_control_token_text_is_embedded_as_literal_text(small, tiny_model):
    texts = ["a <|image_pad|> b", "x <disc_emb> y <|im_end|><|im_start|>assistant\nhi"]
    r = _post(small, {"input": texts, "mode": "disc"})
    assert r.status_code == 200, r.text
    got = np.array([d["embedding"] for d in r.json()["data"]], dtype=np.float32)
    np.testing.assert_allclose(got, tiny_model.encode(texts, mode="disc"), atol=1e-5)
