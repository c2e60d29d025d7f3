"""The search page in a real browser: `umer1 serve --search-index ...` as a user starts it, and
headless Chromium driven over the DevTools protocol through a text query, an image query and
bad uploads. Skips only where no Chromium is installed (`.ci/run` installs Debian's)."""
from __future__ import annotations

import json

import pytest

from tests.serve.cdp import Browser, find_chromium
from tests.serve.search_util import PAGE_SETTLED, build_indexes
from tests.serve.util import GEN_TOKENS, cli_server, color_image

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine "
                                "(apt-get install chromium)")
KEY = "page-key-1"
MAX_IMAGE_BYTES = 20_000
TOP_K = 4


@pytest.fixture(scope="module")
def server(tmp_path_factory, tiny_model_dir, tiny_model):
    folder = tmp_path_factory.mktemp("page_corpus")
    disc, gen = build_indexes(tiny_model, folder)
    with cli_server(["--model", str(tiny_model_dir), "--api-key-env", "UMER1_PAGE_KEY",
                     "--search-index", str(disc), "--search-index", str(gen),
                     "--search-media", str(folder), "--max-new-tokens", str(GEN_TOKENS),
                     "--max-image-bytes", str(MAX_IMAGE_BYTES)],
                    env={"UMER1_PAGE_KEY": KEY}) as url:
        yield url, folder


@pytest.fixture(scope="module")
def page(server):
    url, _ = server
    with Browser(CHROMIUM) as b:
        b.goto(url + "/search")
        yield b


def _search(b: Browser, *, text: str = "", top_k: int = TOP_K) -> str:
    """Fill the form, press Search, and wait for the page to settle; its state."""
    b.eval(f"document.getElementById('query-text').value = {json.dumps(text)};"
           f"document.getElementById('top-k').value = {top_k}; document.body.dataset.state = 'x'")
    b.eval("document.getElementById('search-button').click()")
    return b.wait_for(PAGE_SETTLED)


def _columns(b: Browser) -> dict:
    return b.eval("""(() => {
      const col = (mode) => Array.from(document.querySelectorAll(`#col-${mode} .hits li`), (li) => ({
        id: li.querySelector('.id').textContent,
        score: Number(li.querySelector('.score').textContent),
        thumb: li.querySelector('img.thumb') ? li.querySelector('img.thumb').src : null,
        thumbWidth: li.querySelector('img.thumb') ? li.querySelector('img.thumb').naturalWidth : 0,
        reasoning: li.querySelector('.hit-reasoning p') ?
          li.querySelector('.hit-reasoning p').textContent : null}));
      return {disc: col('disc'), gen: col('gen'),
              queryReasoningShown: !document.getElementById('gen-reasoning').hidden,
              queryReasoning: document.getElementById('gen-reasoning-text').textContent,
              error: document.getElementById('error').hidden ? null :
                document.getElementById('error').textContent};
    })()""")


def _error_text(b: Browser) -> str:
    return b.eval("document.getElementById('error').textContent")


def test_search_page_in_chromium(page, server, tmp_path):
    b = page
    # Without the key the page says so and opens the key box; with it, it lists the indexes.
    assert b.wait_for("document.body.dataset.state === 'error' && "
                      "document.getElementById('error').textContent")
    assert "API key" in _error_text(b) or "key" in _error_text(b).lower()
    assert b.eval("document.getElementById('key-box').open")
    b.eval(f"const k = document.getElementById('api-key'); k.value = {json.dumps(KEY)};"
           "k.dispatchEvent(new Event('change'))")
    b.wait_for("document.body.dataset.state === 'idle'")
    header = b.eval("document.getElementById('indexes').textContent")
    assert "disc: index_disc (12 rows" in header and "gen: index_gen (12 rows" in header

    # A text query: both columns, scores in order, thumbnails for image rows, the reasoning.
    assert _search(b, text="a dog running on a beach") == "done", _error_text(b)
    cols = _columns(b)
    assert cols["error"] is None
    for mode in ("disc", "gen"):
        hits = cols[mode]
        assert len(hits) == TOP_K
        scores = [h["score"] for h in hits]
        assert scores == sorted(scores, reverse=True)
        for h in hits:
            if h["id"].startswith("img-"):
                assert h["thumb"].startswith("blob:") and h["thumbWidth"] == 48, h
            else:
                assert h["thumb"] is None
    assert cols["queryReasoningShown"] and cols["queryReasoning"].strip()
    assert all(h["reasoning"] is None for h in cols["disc"])
    assert all(h["reasoning"] is not None for h in cols["gen"])

    # An image query chosen with the file picker (no text).
    query_png = tmp_path / "query.png"
    color_image(7).save(query_png)
    b.set_files("#query-image", [query_png])
    assert b.wait_for("!document.getElementById('image-chosen').hidden")
    assert "query.png" in b.eval("document.getElementById('image-name').textContent")
    assert _search(b, text="") == "done", _error_text(b)
    cols = _columns(b)
    assert len(cols["disc"]) == TOP_K and len(cols["gen"]) == TOP_K and cols["error"] is None

    # Bad uploads are messages on the page: a file that is not an image (the server says so),
    # and an image over the server's byte limit (the page says so before sending it).
    notes = tmp_path / "notes.txt"
    notes.write_text("these are not pixels")
    b.set_files("#query-image", [notes])
    assert _search(b) == "error"
    assert "not an image" in _error_text(b)
    big = tmp_path / "big.bmp"
    color_image(3, (120, 80)).save(big)          # ~28 KB of BMP, over the 20 KB limit
    assert big.stat().st_size > MAX_IMAGE_BYTES
    b.set_files("#query-image", [big])
    assert _search(b) == "error"
    assert f"over the server's limit of {MAX_IMAGE_BYTES}" in _error_text(b)

    # The server is still up, and the page recovers: the error goes when a search succeeds.
    b.eval("document.getElementById('image-clear').click()")
    assert _search(b, text="snow on a mountain ridge", top_k=2) == "done", _error_text(b)
    cols = _columns(b)
    assert cols["error"] is None and len(cols["disc"]) == 2
