"""A small OpenAI-compatible chat-completions server on 127.0.0.1 for the annotation tests.

Its answer is computed from the request (the `Text:` line of the prompt), so tests know what to
expect. Markers in the text make it misbehave, per item and per attempt:
  FAIL429xN / FAIL500xN / RESETxN / BADJSONxN : the first N attempts fail that way
  MALFORMED : answer without tags;  REPEAT : a degenerate loop;  LONG : a very long reasoning
  REJECT400 : HTTP 400 every time;  SPLIT : reasoning in `reasoning_content` (vLLM style)
With `flaky` > 0 every attempt also fails (429 / 500 / reset) with that probability (seeded).
"""
from __future__ import annotations

import base64
import json
import random
import re
import socket
import struct
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def item_text(prompt: str) -> str:
    m = re.search(r"^Text: (.*)$", prompt, re.M)
    return m.group(1).strip() if m else prompt.strip()


def expected_summary(text: str) -> str:
    return f"summary of {text}"


class ChatServer:
    def __init__(self, *, delay: float = 0.0, flaky: float = 0.0, seed: int = 0,
                 api_key: str | None = None):
        self.delay, self.flaky, self.api_key = delay, flaky, api_key
        self.rng = random.Random(seed)
        self.lock = threading.Lock()
        self.attempts: Counter = Counter()      # per item text
        self.log: list[dict] = []               # every request: text, outcome, images
        self.usage = Counter()
        self.inflight = self.max_inflight = 0   # requests being handled at once
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *a):
                pass

            def do_POST(self):
                with server.lock:
                    server.inflight += 1
                    server.max_inflight = max(server.max_inflight, server.inflight)
                try:
                    server.handle(self)
                finally:
                    with server.lock:
                        server.inflight -= 1

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.httpd.handle_error = lambda request, address: None   # resets are on purpose
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)

    # ----- request handling ------------------------------------------------------------------
    def _send(self, h, status: int, body: bytes, headers: dict | None = None):
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)

    def _reset(self, h):
        # SO_LINGER 0: close with a TCP RST, the client sees a connection reset
        h.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        h.close_connection = True
        h.connection.close()

    def handle(self, h):
        body = json.loads(h.rfile.read(int(h.headers["Content-Length"])))
        if h.path != "/v1/chat/completions":
            return self._send(h, 404, b'{"error": "not found"}')
        if self.api_key and h.headers.get("Authorization") != f"Bearer {self.api_key}":
            return self._send(h, 401, b'{"error": "bad key"}')
        content = body["messages"][0]["content"]
        prompt = next(p["text"] for p in content if p["type"] == "text")
        images = [p["image_url"]["url"] for p in content if p["type"] == "image_url"]
        for url in images:   # every image must be a decodable data URL
            head, b64 = url.split(",", 1)
            assert head.startswith("data:image/") and head.endswith(";base64")
            base64.b64decode(b64, validate=True)
        text = item_text(prompt)
        with self.lock:
            self.attempts[text] += 1
            n = self.attempts[text]
            roll = self.rng.random()
            kind = self.rng.choice(["429", "500", "reset"])
        if self.delay:
            time.sleep(self.delay)
        outcome = self._outcome(text, n, roll, kind)
        with self.lock:
            self.log.append({"text": text, "outcome": outcome, "images": len(images),
                             "model": body["model"], "seed": body.get("seed")})
        if outcome == "429":
            return self._send(h, 429, b'{"error": "slow down"}', {"Retry-After": "0"})
        if outcome == "500":
            return self._send(h, 500, b'{"error": "boom"}')
        if outcome == "reset":
            return self._reset(h)
        if outcome == "badjson":
            return self._send(h, 200, b'{"choices": [')
        if outcome == "400":
            return self._send(h, 400, b'{"error": "image too large"}')
        answer = self.answer(text)
        msg = {"role": "assistant", "content": answer}
        if "SPLIT" in text:
            think, _, rest = answer.partition("</think>")
            msg = {"role": "assistant", "content": rest, "reasoning_content": think[len("<think>"):]}
        usage = {"prompt_tokens": len(prompt.split()) + 10 * len(images),
                 "completion_tokens": len(answer.split())}
        with self.lock:
            self.usage.update(usage)
        self._send(h, 200, json.dumps({
            "id": "x", "object": "chat.completion", "model": body["model"],
            "choices": [{"index": 0, "message": msg, "finish_reason": "stop"}],
            "usage": {**usage, "total_tokens": sum(usage.values())}}).encode())

    def _outcome(self, text: str, n: int, roll: float, kind: str) -> str:
        for marker, outcome in (("FAIL429", "429"), ("FAIL500", "500"), ("RESET", "reset"),
                                ("BADJSON", "badjson")):
            m = re.search(marker + r"x(\d+)", text)
            if m and n <= int(m.group(1)):
                return outcome
        if "REJECT400" in text:
            return "400"
        if self.flaky and roll < self.flaky:
            return kind
        return "ok"

    @staticmethod
    def answer(text: str) -> str:
        if "MALFORMED" in text:
            return f"Sure! This is about {text}."
        if "REPEAT" in text:
            return "<think>" + "and again " * 25 + f"</think><answer>{expected_summary(text)}</answer>"
        if "LONG" in text:
            return "<think>" + " ".join(f"w{i}" for i in range(400)) + \
                   f"</think><answer>{expected_summary(text)}</answer>"
        return (f"<think>The input is: {text}. It shows what a match must share.</think>\n"
                f"<answer>{expected_summary(text)}</answer>")
