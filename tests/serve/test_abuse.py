"""Abuse checks: malformed, oversized, injected, slow and concurrent requests against a live
server on loopback. After every check the server must still answer /health and a valid request.

pytest runs them against the tiny model in-process (default limits). A maintainer reruns them
against a running `umer1 serve` with default limits, loopback only:

    python -m tests.serve.test_abuse --url http://127.0.0.1:8000 [--api-key-env VAR]

Loops are bounded; nothing is sent anywhere but the given loopback address.
"""
from __future__ import annotations

import argparse
import base64
import io
import json
import os
import socket
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx
import pytest

LOOPBACK = ("127.0.0.1", "::1", "localhost")


@dataclass
class Target:
    url: str
    key: str | None
    slow_client_wait_s: float     # how long the slow-client check waits for the server's 408

    def __post_init__(self):
        if urlsplit(self.url).hostname not in LOOPBACK:
            raise SystemExit(f"refusing {self.url}: the abuse checks run against loopback only")

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.key}"} if self.key else {}


def post(t: Target, body=None, *, content: bytes | None = None, timeout: float = 60, **kw):
    kw = {**kw, "content": content} if content is not None else {**kw, "json": body}
    return httpx.post(t.url + "/v1/embeddings", timeout=timeout,
                      headers={**t.headers, "content-type": "application/json"}, **kw)


def expect(resp: httpx.Response, statuses, code: str | None = None) -> None:
    statuses = (statuses,) if isinstance(statuses, int) else statuses
    assert resp.status_code in statuses, (resp.status_code, resp.text[:300])
    if resp.status_code >= 400:
        err = resp.json()["error"]
        assert set(err) == {"message", "type", "param", "code"} and err["message"]
        assert code is None or err["code"] == code, err


def assert_alive(t: Target) -> None:
    assert httpx.get(t.url + "/health", timeout=10).json()["status"] == "ok"
    r = post(t, {"input": ["still alive"]}, timeout=60)
    assert r.status_code == 200 and len(r.json()["data"]) == 1, r.text[:300]


def _png(mode: str, size) -> str:
    from PIL import Image
    buf = io.BytesIO()
    Image.new(mode, size).save(buf, "PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _image(url) -> list:
    return [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}},
                                         {"type": "text", "text": "an image"}]}]


CONTROL = ["<|image_pad|>", "<gen_emb>", "<disc_emb>", "<|im_end|>\n<|im_start|>assistant\n",
           "<|vision_start|>", "<|endoftext|>"]

# (name, JSON body or raw bytes, allowed statuses, error code or None)
CASES = [
    ("not json", b"{nope", 400, "invalid_json"),
    ("invalid utf-8", b'{"input": "\xff\xfe"}', 400, "invalid_json"),
    ("empty body", b"", 400, "invalid_json"),
    ("json array", b"[]", 400, None),
    ("json null", b"null", 400, None),
    ("huge number", b'{"input": 1e999999}', 400, None),
    ("NaN input", b'{"input": NaN}', 400, None),
    ("deep nesting", b'{"input": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", 400, "json_too_deep"),
    ("deep objects", b'{"a":' * 50_000 + b"1" + b"}" * 50_000, 400, "json_too_deep"),
    ("mode list", {"input": "x", "mode": []}, 400, "invalid_mode"),
    ("mode number", {"input": "x", "mode": 1}, 400, "invalid_mode"),
    ("model list", {"input": "x", "model": []}, 400, None),
    ("input object", {"input": {"a": "b"}}, 400, None),
    ("input null item", {"input": [None]}, 400, None),
    ("input nested list", {"input": [["a"]]}, 400, None),
    ("dimensions string", {"input": "x", "dimensions": "5"}, 400, None),
    ("dimensions float", {"input": "x", "dimensions": 1.5}, 400, None),
    ("dimensions bool", {"input": "x", "dimensions": True}, 400, None),
    ("encoding number", {"input": "x", "encoding_format": 5}, 400, None),
    ("messages object", {"messages": {"content": "x"}}, 400, None),
    ("content object", {"messages": [{"content": {"a": 1}}]}, 400, None),
    ("content number part", {"messages": [{"content": [5]}]}, 400, None),
    ("image url number", {"messages": [{"content": [{"type": "image_url",
                                                     "image_url": {"url": 5}}]}]}, 400, None),
    ("image file path", {"messages": _image("/etc/passwd")}, 400, "unsupported_url"),
    ("image not base64", {"messages": _image("data:image/png;base64,%%%")}, 400, "invalid_image"),
    ("too many inputs", {"input": ["x"] * 300}, 400, "too_many_inputs"),
    ("1M-character text", {"input": "a" * 1_000_000}, 400, "input_too_long"),
    ("16k-token text", {"input": "x " * 16_000}, 400, "input_too_long"),
    ("1.3M characters in all", {"input": ["b" * 32_000] * 41}, 413, "request_too_large"),
    # control-token text is text: tokenized literally, embedded like any other
    *[(f"control token {c!r} in input", {"input": f"a {c} b"}, 200, None) for c in CONTROL],
    *[(f"control token {c!r} in messages", {"messages": [{"content": f"a {c} b"}]}, 200, None)
      for c in CONTROL],
    ("valid gen", {"input": "think", "mode": "gen"}, 200, None),
    ("valid base64 with dimensions", {"input": ["a", "b"], "encoding_format": "base64",
                                      "dimensions": 8}, 200, None),
]


def check_case(t: Target, body, statuses, code) -> None:
    if isinstance(body, bytes):
        expect(post(t, content=body), statuses, code)
    else:
        expect(post(t, body), statuses, code)


def check_auth_and_health(t: Target) -> None:
    if t.key:
        expect(post(Target(t.url, None, 0), {"input": "x"}), 401, "invalid_api_key")
        assert httpx.get(t.url + "/health", timeout=10).json() == {"status": "ok"}


def check_image_bombs(t: Target) -> None:
    # 5000 x 5000 one-bit pixels: a small file, 25 M pixels: refused from the header.
    expect(post(t, {"messages": _image(_png("1", (5000, 5000)))}), 400, "image_too_large")
    expect(post(t, {"messages": _image("data:image/png;base64," + "A" * (12 << 20))}), 400,
           "image_too_large")


def check_declared_huge_body(t: Target) -> None:
    """A Content-Length over the body limit is refused before anything is read."""
    r = _raw(t, b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: 999999999999\r\n" + _auth_line(t) + b"\r\n", wait_s=30)
    assert r.startswith(b"HTTP/1.1 413"), r[:200]


def check_slow_client(t: Target) -> None:
    """A client that sends a few body bytes and stalls: others are served meanwhile, and the
    server gives up on it with 408 after its body timeout."""
    head = (b"POST /v1/embeddings HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1000\r\n" + _auth_line(t) + b'\r\n{"input": "')
    with socket.create_connection(_address(t), timeout=t.slow_client_wait_s) as sock:
        sock.sendall(head)
        assert_alive(t)                       # served while the slow client holds on
        reply = _read_reply(sock, t.slow_client_wait_s)
    assert reply.startswith(b"HTTP/1.1 408"), reply[:200]


def check_concurrent_mixed(t: Target) -> None:
    bodies = [{"input": f"valid {i}"} if i % 3 else {"input": ["x"] * 300 + [f"too many {i}"]}
              for i in range(48)]
    with ThreadPoolExecutor(16) as pool:
        got = list(pool.map(lambda b: post(t, b).status_code, bodies))
    assert got == [200 if i % 3 else 400 for i in range(48)]


def check_disc_while_gen_client_leaves(t: Target) -> None:
    """A large gen request whose client gives up: a disc request is served meanwhile, and the
    abandoned gen work does not keep the worker busy afterwards."""
    with ThreadPoolExecutor(1) as pool:
        gen = pool.submit(post, t, {"input": [f"reason {i}" for i in range(64)], "mode": "gen"},
                          timeout=2.0)
        time.sleep(0.3)
        start = time.monotonic()
        expect(post(t, {"input": "meanwhile"}), 200)
        meanwhile = time.monotonic() - start
        with pytest.raises(httpx.TimeoutException):
            gen.result()
    assert meanwhile < 30, meanwhile


CHECKS = [check_auth_and_health, check_image_bombs, check_declared_huge_body, check_slow_client,
          check_concurrent_mixed, check_disc_while_gen_client_leaves]


def _address(t: Target):
    u = urlsplit(t.url)
    return u.hostname, u.port


def _auth_line(t: Target) -> bytes:
    return f"Authorization: Bearer {t.key}\r\n".encode() if t.key else b""


def _read_reply(sock: socket.socket, wait_s: float) -> bytes:
    sock.settimeout(wait_s)
    try:
        return sock.recv(4096)
    except socket.timeout:
        return b""


def _raw(t: Target, data: bytes, wait_s: float) -> bytes:
    with socket.create_connection(_address(t), timeout=wait_s) as sock:
        sock.sendall(data)
        return _read_reply(sock, wait_s)


# ----- pytest: the tiny model behind a real server on 127.0.0.1 ---------------------------
@pytest.fixture(scope="module")
def target(tiny_model_dir):
    from tests.serve.util import API_KEY, start_server
    server, _ = start_server(tiny_model_dir, api_key=API_KEY, body_timeout_s=1.0,
                             max_inputs_per_request=256, max_image_bytes=8 << 20,
                             max_image_pixels=16_000_000, max_new_tokens=512)
    with server:
        yield Target(server.url, API_KEY, slow_client_wait_s=10.0)


@pytest.mark.parametrize("name,body,statuses,code", CASES, ids=[c[0] for c in CASES])
def test_case(target, name, body, statuses, code):
    check_case(target, body, statuses, code)
    assert_alive(target)


@pytest.mark.parametrize("check", CHECKS, ids=[c.__name__ for c in CHECKS])
def test_check(target, check):
    check(target)
    assert_alive(target)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--url", default="http://127.0.0.1:8000")
    p.add_argument("--api-key-env", default=None, metavar="VAR")
    p.add_argument("--slow-client-wait", type=float, default=40.0,
                   help="seconds to wait for the 408 (the server's body timeout is 30 s)")
    args = p.parse_args(argv)
    t = Target(args.url.rstrip("/"), os.environ.get(args.api_key_env) if args.api_key_env else None,
               args.slow_client_wait)
    failed = 0
    runs = [(n, lambda b=b, s=s, c=c: check_case(t, b, s, c)) for n, b, s, c in CASES]
    runs += [(c.__name__, lambda c=c: c(t)) for c in CHECKS]
    for name, run in runs:
        try:
            run()
            assert_alive(t)
            print(f"ok    {name}")
        except (AssertionError, httpx.HTTPError, OSError, json.JSONDecodeError) as exc:
            failed += 1
            print(f"FAIL  {name}: {exc!r}"[:400])
    print(f"{len(runs) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
