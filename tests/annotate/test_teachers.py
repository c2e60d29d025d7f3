"""The OpenAI-compatible client against a real loopback server: retries, errors, images, key."""
from __future__ import annotations

import base64
import threading

import pytest
from PIL import Image

from umer1.annotate.teachers import (OpenAITeacher, TeacherError, TeacherFatal, TeacherInput,
                                     data_url, split_openai)
from umer1.utils.errors import InputError


class RecordingStop(threading.Event):
    """A stop event whose waits return at once and are recorded (the backoff delays)."""

    def __init__(self):
        super().__init__()
        self.waits = []

    def wait(self, timeout=None):
        self.waits.append(timeout)
        return False


def teacher(server, **kw):
    kw.setdefault("backoff_base", 0.5)
    kw.setdefault("max_retries", 4)
    return OpenAITeacher(server.base_url, "org/teacher-9b", **kw)


def test_split_openai():
    assert split_openai("http://h:8000/v1/org/model-x") == ("http://h:8000/v1", "org/model-x")
    assert split_openai("https://h/api/model") == ("https://h/api", "model")
    for bad in ("h:8000/v1/m", "http://h:8000/v1/", "http://h:8000"):
        with pytest.raises(InputError):
            split_openai(bad)


@pytest.mark.parametrize("marker,requests", [("FAIL429x3", 4), ("FAIL500x2", 3), ("RESETx2", 3),
                                             ("BADJSONx1", 2)])
def test_transient_failures_are_retried(chat_server, marker, requests):
    with chat_server() as server:
        t = teacher(server, stop=RecordingStop())
        c = t.complete(TeacherInput(f"Text: item {marker}", []), "k")
        t.close()
    assert c.requests == requests and c.text.endswith(f"<answer>summary of item {marker}</answer>")
    assert c.prompt_tokens == 3 and c.completion_tokens > 5
    assert [e["outcome"] for e in server.log][-1] == "ok"
    assert server.log[0]["model"] == "org/teacher-9b"


def test_backoff_is_exponential_with_seeded_jitter(chat_server):
    with chat_server() as server:
        runs = []
        for _ in range(2):
            stop = RecordingStop()
            t = teacher(server, stop=stop, seed=5, max_retries=3)
            with pytest.raises(TeacherError) as e:
                t.complete(TeacherInput("Text: x FAIL500x99", []), "same-key")
            t.close()
            assert e.value.transient and e.value.requests == 4
            runs.append(stop.waits)
    assert runs[0] == runs[1] and len(runs[0]) == 3
    for k, d in enumerate(runs[0]):
        assert 0.5 * 0.5 * 2 ** k <= d < 1.5 * 0.5 * 2 ** k


def test_permanent_and_fatal_errors(chat_server):
    with chat_server(api_key="sk-1") as server:
        good = teacher(server, api_key="sk-1")
        with pytest.raises(TeacherError) as e:
            good.complete(TeacherInput("Text: REJECT400", []), "k")
        assert not e.value.transient and e.value.requests == 1 and "HTTP 400" in str(e.value)
        bad = teacher(server, api_key="wrong")
        with pytest.raises(TeacherFatal, match="HTTP 401"):
            bad.complete(TeacherInput("Text: a", []), "k")
        good.close()
        bad.close()


def test_split_reasoning_field_and_images(chat_server, tmp_path):
    big = tmp_path / "big.png"
    Image.new("RGB", (400, 300), (1, 2, 3)).save(big)
    url = data_url(str(big), max_pixels=100 * 100)     # downscaled and re-encoded
    head, b64 = url.split(",", 1)
    assert head == "data:image/jpeg;base64"
    with Image.open(__import__("io").BytesIO(base64.b64decode(b64))) as im:
        assert im.size[0] * im.size[1] <= 100 * 100
    assert data_url(str(big)).startswith("data:image/png;base64,")   # small enough: as is
    with chat_server() as server:
        t = teacher(server)
        c = t.complete(TeacherInput("Text: SPLIT", [str(big), Image.new("RGB", (8, 8))]), "k")
        t.close()
    assert c.text.startswith("<think>The input is: SPLIT") and "</think>" in c.text
    assert server.log[0]["images"] == 2
