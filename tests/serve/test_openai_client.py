"""The official openai client against the real server: results equal the offline encode."""
from __future__ import annotations

import httpx
import numpy as np
import openai
import pytest

from umer1 import EmbedInput
from tests.serve.util import API_KEY, GEN_TOKENS, MODEL_ID, color_image, data_url


@pytest.fixture(scope="module")
def client(served):
    return openai.OpenAI(base_url=served.url + "/v1", api_key=API_KEY, max_retries=0)


def _arr(resp):
    return np.array([d.embedding for d in sorted(resp.data, key=lambda d: d.index)], np.float32)


def test_float_list_matches_offline(client, served):
    texts = ["a red apple", "the quick brown fox jumps", "x"]
    resp = client.embeddings.create(model=MODEL_ID, input=texts, encoding_format="float")
    assert resp.model == MODEL_ID and resp.object == "list"
    assert [d.index for d in resp.data] == [0, 1, 2]
    assert resp.usage.prompt_tokens > 0 and resp.usage.total_tokens == resp.usage.prompt_tokens
    np.testing.assert_allclose(_arr(resp), served.model.encode(texts), atol=1e-5)


def test_base64_single_string_matches_offline(client, served):
    # The client asks for base64 unless told otherwise and decodes it itself.
    resp = client.embeddings.create(model=MODEL_ID, input="one string")
    np.testing.assert_allclose(_arr(resp)[0], served.model.encode(["one string"])[0], atol=1e-5)
    raw = client.embeddings.with_raw_response.create(model=MODEL_ID, input="one string",
                                                     encoding_format="base64")
    assert isinstance(raw.http_response.json()["data"][0]["embedding"], str)


def test_dimensions_truncate_and_renormalise(client, served):
    resp = client.embeddings.create(model=MODEL_ID, input=["short"], dimensions=16,
                                    encoding_format="float")
    got = _arr(resp)[0]
    full = served.model.encode(["short"])[0][:16]
    assert got.shape == (16,)
    np.testing.assert_allclose(got, full / np.linalg.norm(full), atol=1e-5)


def test_images_through_messages(client, served):
    img = color_image(1)
    messages = [{"role": "user", "content": [
        {"type": "image_url", "image_url": {"url": data_url(img)}},
        {"type": "text", "text": "Represent the given image"}]}]
    resp = client.embeddings.create(model=MODEL_ID, input=[], encoding_format="float",
                                    extra_body={"messages": messages, "input": None})
    want = served.model.encode([EmbedInput(text="Represent the given image", images=[img])])
    np.testing.assert_allclose(_arr(resp), want, atol=1e-5)
    # image only, JPEG
    jpeg = data_url(img, "JPEG")
    resp = client.embeddings.create(model=MODEL_ID, input=[], extra_body={"input": None, "messages": [
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": jpeg}}]}]})
    assert _arr(resp).shape == (1, served.model.hidden_size)


def test_gen_mode(client, served):
    resp = client.embeddings.create(model=MODEL_ID, input=["think about it"],
                                    encoding_format="float", extra_body={"mode": "gen"})
    want = served.model.encode(["think about it"], mode="gen", max_new_tokens=GEN_TOKENS)
    np.testing.assert_allclose(_arr(resp), want, atol=1e-5)
    disc = served.model.encode(["think about it"])
    assert not np.allclose(want, disc)


def test_models_and_health(client, served):
    models = client.models.list()
    assert [m.id for m in models.data] == [MODEL_ID]
    health = httpx.get(served.url + "/health", headers={"Authorization": f"Bearer {API_KEY}"}).json()
    assert health["status"] == "ok" and health["model"] == MODEL_ID
