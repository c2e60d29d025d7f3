"""The official openai client against a server of each backbone: disc (text, image) and gen
embeddings equal the offline encode."""
from __future__ import annotations

import numpy as np
import openai

from umer1 import EmbedInput, UMEModel
from tests.serve.util import API_KEY, GEN_TOKENS, MODEL_ID, color_image, data_url, start_server


def test_every_backbone_serves_both_modes(backbone_dir):
    offline = UMEModel.from_pretrained(backbone_dir)
    server, _ = start_server(backbone_dir)
    server.start()
    try:
        client = openai.OpenAI(base_url=server.url + "/v1", api_key=API_KEY, max_retries=0)
        img = color_image(3)
        messages = [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": data_url(img)}},
            {"type": "text", "text": "Represent the given image"}]}]
        resp = client.embeddings.create(model=MODEL_ID, input=[], encoding_format="float",
                                        extra_body={"messages": messages, "input": None})
        want = offline.encode([EmbedInput(text="Represent the given image", images=[img])])
        np.testing.assert_allclose(np.array([resp.data[0].embedding], np.float32), want, atol=1e-5)
        resp = client.embeddings.create(model=MODEL_ID, input=["a red apple"], encoding_format="float",
                                        extra_body={"mode": "gen"})
        want = offline.encode(["a red apple"], mode="gen", max_new_tokens=GEN_TOKENS)
        np.testing.assert_allclose(np.array([resp.data[0].embedding], np.float32), want, atol=1e-5)
    finally:
        server.stop()
