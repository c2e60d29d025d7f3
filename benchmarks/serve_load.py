"""Serving under load: requests/s and p50/p99 latency of `umer1 serve`'s app with concurrent
clients, against offline `UMEModel.encode` throughput measured in the same run.

One input per request (the common online case). Rows:
1. server requests/s with dynamic batching vs offline batched encode items/s (ratio: how much
   of the offline throughput the HTTP path keeps);
2. the same server with batching off (max batch 1) as a second baseline (ratio: what dynamic
   batching buys);
3. p50 / p99 request latency.
Clients run as threads of a separate process on the same machine.
"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from benchmarks.common import median_time, row  # noqa: E402

from umer1 import UMEModel  # noqa: E402
from umer1.serve import BackgroundServer, ServeConfig, ServeLimits, create_app  # noqa: E402
from umer1.engine.tiny import make_tiny_model  # noqa: E402


def _texts(n: int) -> list[str]:
    return [f"Find me an everyday image that matches the caption number {i}: "
            + "a dog runs on the beach " * (1 + i % 3) for i in range(n)]


# The load generator runs in its own process (httpx threads only, no torch), so client work
# does not compete with the server for this process's interpreter lock.
_CLIENT = r"""
import json, sys, time
from concurrent.futures import ThreadPoolExecutor
import httpx
job = json.load(sys.stdin)
with httpx.Client(base_url=job["url"], timeout=600,
                  limits=httpx.Limits(max_connections=job["clients"])) as http:
    def one(text):
        t = time.perf_counter()
        r = http.post("/v1/embeddings", json={"input": text, "encoding_format": "base64"})
        r.raise_for_status()
        return time.perf_counter() - t
    with ThreadPoolExecutor(job["clients"]) as pool:
        list(pool.map(one, job["texts"][:job["clients"]]))       # warm-up
        t0 = time.perf_counter()
        lat = list(pool.map(one, job["texts"]))
        wall = time.perf_counter() - t0
json.dump({"latencies": lat, "wall": wall}, sys.stdout)
"""


def _load(model, texts, clients: int, max_batch: int) -> dict:
    import httpx
    config = ServeConfig(model_name="bench", max_batch_size=max_batch, max_wait_s=0.005,
                         limits=ServeLimits(request_timeout_s=600))
    with BackgroundServer(create_app(model, config)) as server:
        job = json.dumps({"url": server.url, "clients": clients, "texts": texts})
        out = subprocess.run([sys.executable, "-c", _CLIENT], input=job, capture_output=True,
                             text=True, check=True, timeout=3600)
        stats = httpx.get(server.url + "/health").json()
    res = json.loads(out.stdout)
    lat = sorted(res["latencies"])
    return {"rps": len(texts) / res["wall"], "p50": lat[len(lat) // 2],
            "p99": lat[min(len(lat) - 1, int(0.99 * len(lat)))],
            "mean_batch": stats["inputs"] / max(stats["batches"], 1)}


def run(quick: bool = False) -> dict:
    torch.manual_seed(0)
    n, clients, max_batch = (48, 8, 8) if quick else (256, 32, 32)
    with tempfile.TemporaryDirectory() as tmp:
        d = make_tiny_model(Path(tmp) / "m", hidden_size=256, num_layers=4, num_heads=4,
                            num_kv_heads=2, seed=0)
        model = UMEModel.from_pretrained(d)
    texts = _texts(n)
    # Offline first (the model is not shared with a running server), and in a worker thread
    # like the server's: torch's intra-op threading behaves differently in the main thread on
    # a busy machine, which would skew the ratio.
    with ThreadPoolExecutor(1) as worker:
        t_off = worker.submit(median_time, lambda: model.encode(texts, batch_size=max_batch),
                              3 if quick else 5).result()
    offline = n / t_off
    batched = _load(model, texts, clients, max_batch)
    unbatched = _load(model, texts, clients, 1)
    rows = [
        row(f"server requests/s, {clients} clients, dynamic batching", batched["rps"], "req/s",
            offline, f"offline encode items/s (batch {max_batch})",
            note=f"1 input per request; mean batch {batched['mean_batch']:.1f}"),
        row(f"server requests/s, {clients} clients, dynamic batching", batched["rps"], "req/s",
            unbatched["rps"], "same server, max batch 1"),
        row("p50 latency, dynamic batching", batched["p50"] * 1000, "ms",
            unbatched["p50"] * 1000, "max batch 1", higher_is_better=False),
        row("p99 latency, dynamic batching", batched["p99"] * 1000, "ms",
            unbatched["p99"] * 1000, "max batch 1", higher_is_better=False),
    ]
    return {"name": "serve_load", "requests": n, "clients": clients,
            "threads": torch.get_num_threads(), "offline_items_per_s": offline,
            "batched": batched, "unbatched": unbatched, "rows": rows}


if __name__ == "__main__":
    from benchmarks.run import main
    sys.exit(main(["--only", "serve_load"] + sys.argv[1:]))
