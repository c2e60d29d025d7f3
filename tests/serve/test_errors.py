"""Bad requests get the right 4xx in the OpenAI error shape, and the server keeps serving."""
from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import numpy as np
import openai
import pytest

from tests.serve.util import API_KEY, MODEL_ID, color_image, data_url, start_server

AUTH = {"Authorization": f"Bearer {API_KEY}"}


def _post(url, body=None, *, content=None, headers=AUTH):
    kw = {"content": content} if content is not None else {"json": body}
    return httpx.post(url + "/v1/embeddings", headers={**headers, "content-type": "application/json"},
                      timeout=30, **kw)


def _error(resp, status, code=None, param=None):
    assert resp.status_code == status, resp.text
    err = resp.json()["error"]
    assert set(err) == {"message", "type", "param", "code"}
    assert err["message"]
    if code is not None:
        assert err["code"] == code
    if param is not None:
        assert err["param"] == param
    return err


def _image_message(url):
    return [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": url}},
                                         {"type": "text", "text": "x"}]}]


@pytest.mark.parametrize("body,content,status,code,param", [
    (None, b'{"input": "unterminated', 400, "invalid_json", None),
    ({"input": ["t"] * 17}, None, 400, "too_many_inputs", "input"),
    ({"input": ""}, None, 400, "empty_input", "input"),
    ({"input": []}, None, 400, "empty_input", "input"),
    ({"input": ["ok", "  "]}, None, 400, "empty_input", "input[1]"),
    ({"input": "x", "mode": "sparse"}, None, 400, "invalid_mode", "mode"),
    ({"input": "x", "encoding_format": "int8"}, None, 400, None, "encoding_format"),
    ({"input": "x", "dimensions": 0}, None, 400, None, "dimensions"),
    ({"input": "x", "dimensions": 65}, None, 400, None, "dimensions"),
    ({"input": [[1, 2, 3]]}, None, 400, None, "input"),
    ({"input": "x", "temperature": 1}, None, 400, "unknown_field", "temperature"),
    ({"input": "x", "model": "other"}, None, 404, "model_not_found", "model"),
    ({"input": "x", "messages": [{"content": "y"}]}, None, 400, None, "messages"),
    ({"messages": [{"role": "assistant", "content": "y"}]}, None, 400, None, "messages[0].role"),
    ({"messages": [{"content": [{"type": "audio"}]}]}, None, 400, None, "messages[0].content[0].type"),
    ({"messages": _image_message("/etc/passwd")}, None, 400, "unsupported_url", None),
    ({"messages": _image_message("file:///etc/passwd")}, None, 400, "unsupported_url", None),
    ({"messages": _image_message("http://127.0.0.1:9/x.png")}, None, 400, "remote_url_disabled", None),
    ({"messages": _image_message("data:image/png;base64,@@@")}, None, 400, "invalid_image", None),
    ({"messages": _image_message("data:image/png;base64,aGVsbG8=")}, None, 400, "invalid_image", None),
])
def test_bad_requests(served, body, content, status, code, param):
    _error(_post(served.url, body, content=content), status, code, param)


def test_oversized_images(served):
    big_bytes = data_url(color_image(2, (120, 120)), "BMP")        # 43 KB > 20 KB
    err = _error(_post(served.url, {"messages": _image_message(big_bytes)}), 400, "image_too_large")
    assert "bytes" in err["message"]
    assert err["param"] == "messages[0].content[0].image_url.url"
    from PIL import Image
    many_pixels = data_url(Image.new("RGB", (400, 300), "white"), "PNG")  # small file, 120k pixels
    err = _error(_post(served.url, {"messages": _image_message(many_pixels)}), 400, "image_too_large")
    assert "pixels" in err["message"]


def test_body_too_large(served):
    _error(_post(served.url, content=b'{"input": "' + b"a" * (33 * 1024 * 1024) + b'"}'), 413)


def test_auth_and_routes(served):
    client = openai.OpenAI(base_url=served.url + "/v1", api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError) as exc:
        client.embeddings.create(model=MODEL_ID, input="x")
    assert exc.value.status_code == 401 and exc.value.body["code"] == "invalid_api_key"
    _error(_post(served.url, {"input": "x"}, headers={}), 401, "invalid_api_key")
    _error(httpx.get(served.url + "/v1/models"), 401)
    _error(httpx.get(served.url + "/v1/nothing", headers=AUTH), 404)
    _error(httpx.get(served.url + "/v1/embeddings", headers=AUTH), 405)
    health = httpx.get(served.url + "/health")   # the status needs no key, and tells no more
    assert health.status_code == 200 and health.json() == {"status": "ok"}


def test_still_serving_after_errors(served):
    _post(served.url, content=b"{nope")
    _post(served.url, {"input": ["t"] * 100})
    r = _post(served.url, {"input": ["still here"], "encoding_format": "float"})
    assert r.status_code == 200
    np.testing.assert_allclose(r.json()["data"][0]["embedding"],
                               served.model.encode(["still here"])[0], atol=1e-5)


def test_timeout_gives_504_then_recovers(tiny_model_dir):
    delay = {"s": 1.0}
    server, app = start_server(tiny_model_dir, api_key=None, request_timeout_s=0.3)
    real = app.state.batcher.encode_fn

    def slow(items, mode, should_stop):   # the real model, made slow for this test
        time.sleep(delay["s"])
        return real(items, mode, should_stop)
    app.state.batcher.encode_fn = slow
    with server:
        _error(_post(server.url, {"input": "x"}, headers={}), 504, "timeout")
        delay["s"] = 0.0
        time.sleep(1.0)   # let the slow call finish
        assert _post(server.url, {"input": "x"}, headers={}).status_code == 200


def test_remote_images_only_when_enabled(tiny_model_dir):
    png = color_image(3)
    import io
    buf = io.BytesIO()
    png.save(buf, "PNG")
    payload = buf.getvalue()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *a):
            pass

    images = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    t = threading.Thread(target=images.serve_forever, daemon=True)
    t.start()
    try:
        url = f"http://127.0.0.1:{images.server_address[1]}/img.png"
        server, app = start_server(tiny_model_dir, api_key=None, allow_remote_images=True)
        with server:
            r = _post(server.url, {"messages": _image_message(url), "encoding_format": "float"},
                      headers={})
            assert r.status_code == 200, r.text
            remote = np.array(r.json()["data"][0]["embedding"])
            r = _post(server.url, {"messages": _image_message(data_url(png)),
                                   "encoding_format": "float"}, headers={})
            np.testing.assert_allclose(remote, r.json()["data"][0]["embedding"], atol=1e-5)
    finally:
        images.shutdown()
        images.server_close()
