"""50 concurrent requests: every answer equals the offline encode, and requests were batched."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np

from tests.serve.util import API_KEY, MODEL_ID


def test_fifty_concurrent_requests_match_offline(served):
    texts = [f"document number {i} " + "word " * (i % 7) for i in range(50)]
    headers = {"Authorization": f"Bearer {API_KEY}"}
    before = httpx.get(served.url + "/health", headers=headers).json()
    with httpx.Client(base_url=served.url, headers=headers, timeout=60,
                      limits=httpx.Limits(max_connections=50)) as http:
        def one(i):
            r = http.post("/v1/embeddings", json={"model": MODEL_ID, "input": texts[i]})
            assert r.status_code == 200, r.text
            return np.array(r.json()["data"][0]["embedding"], np.float32)
        with ThreadPoolExecutor(50) as pool:
            got = np.stack(list(pool.map(one, range(50))))
    np.testing.assert_allclose(got, served.model.encode(texts), atol=1e-5)
    after = httpx.get(served.url + "/health", headers=headers).json()
    assert after["requests"] - before["requests"] == 50
    # Dynamic batching merged concurrent requests into fewer model calls.
    assert after["batches"] - before["batches"] < 50
    assert after["largest_batch"] > 1
