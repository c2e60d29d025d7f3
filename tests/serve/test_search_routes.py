"""The search page's routes in front of the tiny model and two real indexes (disc and gen)."""
from __future__ import annotations

import base64
import os

import pytest
from fastapi.testclient import TestClient

from umer1 import UMEModel
from umer1.integrations.search_page import IndexSearch
from umer1.serve import ServeConfig, ServeLimits, create_app
from umer1.serve.media import MediaDir

from tests.serve.search_util import build_indexes
from tests.serve.util import API_KEY, GEN_TOKENS, color_image, data_url

AUTH = {"Authorization": f"Bearer {API_KEY}"}
MAX_IMAGE_BYTES = 20_000


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, tiny_model):
    folder = tmp_path_factory.mktemp("search_corpus")
    return folder, build_indexes(tiny_model, folder)


def _app(model_dir, corpus, *, search=True, api_key=API_KEY):
    folder, dirs = corpus
    model = UMEModel.from_pretrained(model_dir)
    limits = ServeLimits(max_image_bytes=MAX_IMAGE_BYTES, max_image_pixels=128 * 128,
                         max_new_tokens=GEN_TOKENS, max_search_k=20)
    config = ServeConfig(model_name="tiny", api_key=api_key, limits=limits,
                         search_media=str(folder) if search else None)
    backend = IndexSearch.open(dirs, max_new_tokens=GEN_TOKENS).bind(model) if search else None
    return create_app(model, config, search=backend)


@pytest.fixture(scope="module")
def client(tiny_model_dir, corpus):
    with TestClient(_app(tiny_model_dir, corpus)) as c:
        yield c


def _query(client, **body):
    return client.post("/search/query", json=body, headers=AUTH)


def _error(r, status, code):
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["message"] and (code == "any" or err["code"] == code)
    return err["message"]


def test_page_and_static_files(client):
    r = client.get("/search")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert 'id="col-disc"' in r.text and 'id="col-gen"' in r.text and "http" not in r.text
    for name, kind in (("search.js", "javascript"), ("search.css", "css")):
        r = client.get(f"/search/static/{name}")
        assert r.status_code == 200 and kind in r.headers["content-type"]
    assert client.get("/search/static/..%2Fapp.py").status_code == 404
    _error(client.get("/search/static/secret.txt"), 404, "not_found")


def test_info_needs_the_key_and_lists_the_indexes(client):
    _error(client.get("/search/info"), 401, "invalid_api_key")
    info = client.get("/search/info", headers=AUTH).json()
    assert sorted(ix["mode"] for ix in info["indexes"]) == ["disc", "gen"]
    assert all(ix["count"] == 12 for ix in info["indexes"])
    assert info["max_image_bytes"] == MAX_IMAGE_BYTES and info["thumbnails"]


def test_text_query_gives_both_columns(client, tiny_model):
    r = _query(client, text="a dog running on a beach", top_k=5)
    assert r.status_code == 200, r.text
    res = r.json()["results"]
    assert set(res) == {"disc", "gen"}
    disc, gen = res["disc"], res["gen"]
    assert [h["rank"] for h in disc["hits"]] == [1, 2, 3, 4, 5]
    assert disc["reasoning"] is None and all(h["reasoning"] is None for h in disc["hits"])
    scores = [h["score"] for h in disc["hits"]]
    assert scores == sorted(scores, reverse=True)
    # The disc column is what `search_inputs` gives offline for the same query.
    from umer1.index import EmbeddingIndex, search_inputs
    folder = client.app.state.config.search_media
    offline = search_inputs(EmbeddingIndex.load(f"{folder}/index_disc"), tiny_model,
                            ["a dog running on a beach"], k=5)[0]
    assert [h["id"] for h in disc["hits"]] == [h.id for h in offline]
    # gen: the query's own reasoning, and each hit's stored reasoning.
    assert isinstance(gen["reasoning"], str) and gen["reasoning"]
    assert all(isinstance(h["reasoning"], str) for h in gen["hits"])
    # Image rows carry a thumbnail inside the media folder; text rows a snippet and none.
    for h in disc["hits"] + gen["hits"]:
        if h["id"].startswith("img-"):
            assert h["thumbnail"] == f"/search/media/images/photo_{h['id'][4:]}.png"
            assert client.get(h["thumbnail"], headers=AUTH).content[:4] == b"\x89PNG"
        else:
            assert h["thumbnail"] is None and h["text"].startswith("A caption:")


def test_image_query(client):
    r = _query(client, image=data_url(color_image(7)), top_k=3)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["query"] == {"text": "", "image": True, "top_k": 3}
    assert len(body["results"]["disc"]["hits"]) == 3 and len(body["results"]["gen"]["hits"]) == 3


def test_bad_queries_are_messages_and_the_server_stays_up(client):
    assert "empty" in _error(_query(client, text="   "), 400, "empty_input")
    _error(_query(client), 400, "empty_input")
    junk = "data:image/png;base64," + base64.b64encode(b"not an image at all").decode()
    assert "cannot be decoded" in _error(_query(client, image=junk), 400, "invalid_image")
    text_file = "data:text/plain;base64," + base64.b64encode(b"hello").decode()
    assert "not an image" in _error(_query(client, image=text_file), 400, "invalid_image")
    big = "data:image/png;base64," + base64.b64encode(os.urandom(MAX_IMAGE_BYTES + 10)).decode()
    assert str(MAX_IMAGE_BYTES) in _error(_query(client, image=big), 400, "image_too_large")
    assert "top_k" in _error(_query(client, text="x", top_k=0), 400, None)
    assert "20" in _error(_query(client, text="x", top_k=21), 400, None)
    _error(_query(client, text="x", extra=1), 400, "unknown_field")
    _error(client.post("/search/query", content=b"{", headers=AUTH), 400, "invalid_json")
    _error(client.post("/search/query", json={"text": "x"}), 401, "invalid_api_key")
    assert _query(client, text="still here", top_k=1).status_code == 200


def test_media_is_confined_to_its_folder(client, corpus, tmp_path):
    folder, _ = corpus
    outside = tmp_path / "outside.png"
    color_image(1).save(outside)
    link = folder / "images" / "escape.png"
    if not link.is_symlink():
        link.symlink_to(outside)
    (folder / "images" / "notes.txt").write_text("not an image")
    for rel in ("../corpus.jsonl", "..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "images/escape.png",
                "images/notes.txt", "images/missing.png", "index_disc/index.json"):
        _error(client.get(f"/search/media/{rel}", headers=AUTH), 404, "any")
    _error(client.get("/search/media/images/photo_0.png"), 401, "invalid_api_key")
    media = MediaDir(folder)
    assert media.resolve("images/photo_0.png") == (folder / "images/photo_0.png").resolve()
    for rel in ("../x.png", "/etc/passwd", "images/../../x.png", "images\\photo_0.png",
                "images/escape.png", ""):
        assert media.resolve(rel) is None, rel
    assert media.url_for(str(outside)) is None and media.url_for("images/escape.png") is None
    assert media.url_for(str(folder / "images/photo_0.png")) == "/search/media/images/photo_0.png"


def test_without_an_index_the_routes_say_how_to_turn_them_on(tiny_model_dir, corpus):
    with TestClient(_app(tiny_model_dir, corpus, search=False)) as c:
        for r in (c.get("/search"), c.post("/search/query", json={"text": "x"}, headers=AUTH),
                  c.get("/search/media/images/photo_0.png")):
            assert "--search-index" in _error(r, 404, "search_disabled")
        assert c.post("/v1/embeddings", json={"input": "x"}, headers=AUTH).status_code == 200
