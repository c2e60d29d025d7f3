"""The search page's backend: real indexes opened, checked against the served model, searched."""
from __future__ import annotations

import shutil

import pytest

from umer1 import UMEModel
from umer1.cli import main
from umer1.engine.inputs import EmbedInput
from umer1.engine.tiny import make_tiny_model
from umer1.integrations.search_page import IndexSearch
from umer1.serve.search import SearchQuery
from umer1.utils.errors import InputError

from tests.serve.search_util import build_indexes
from tests.serve.util import GEN_TOKENS


@pytest.fixture(scope="module")
def indexes(tmp_path_factory, tiny_model):
    return build_indexes(tiny_model, tmp_path_factory.mktemp("search_page"))


@pytest.fixture(scope="module")
def other_model_dir(tmp_path_factory):
    """Same architecture, other weights: another fingerprint."""
    return make_tiny_model(tmp_path_factory.mktemp("other_tiny"), backbone="qwen2_vl",
                           tokenizer="compact", seed=1)


def test_searches_each_index_in_its_mode(indexes, tiny_model):
    page = IndexSearch.open(list(indexes), max_new_tokens=GEN_TOKENS).bind(tiny_model)
    assert [d["mode"] for d in page.describe()] == ["disc", "gen"]
    results = page(SearchQuery(EmbedInput(text="a bowl of ramen"), 4))
    assert [r.mode for r in results] == ["disc", "gen"]
    disc, gen = results
    expected = tiny_model.encode(["a bowl of ramen"], mode="gen", max_new_tokens=GEN_TOKENS)
    assert gen.reasoning == tiny_model.generate(["a bowl of ramen"],
                                                max_new_tokens=GEN_TOKENS).texts[0]
    assert [h.id for h in gen.hits] == [h.id for h in page.indexes["gen"].search(expected, 4)[0]]
    assert disc.reasoning is None and len(disc.hits) == 4
    assert all(h.reasoning for h in gen.hits)
    image_hits = [h for h in disc.hits + gen.hits if h.id.startswith("img-")]
    assert all(h.image.startswith("images/") for h in image_hits)


def test_one_index_alone(indexes, tiny_model):
    page = IndexSearch.open([indexes[1]], max_new_tokens=GEN_TOKENS).bind(tiny_model)
    assert [r.mode for r in page(SearchQuery(EmbedInput(text="snow"), 2))] == ["gen"]


def test_two_indexes_of_one_mode_are_refused(indexes, tmp_path):
    copy = tmp_path / "disc_copy"
    shutil.copytree(indexes[0], copy)
    with pytest.raises(InputError) as err:
        IndexSearch.open([indexes[0], copy], max_new_tokens=GEN_TOKENS)
    assert err.value.field == "--search-index" and "two disc indexes" in err.value.message
    with pytest.raises(InputError, match="no index.json"):
        IndexSearch.open([tmp_path], max_new_tokens=GEN_TOKENS)


def test_an_index_of_another_model_is_refused(indexes, other_model_dir):
    page = IndexSearch.open(list(indexes), max_new_tokens=GEN_TOKENS)
    with pytest.raises(InputError) as err:
        page.bind(UMEModel.from_pretrained(other_model_dir))
    line = err.value.one_line()
    assert str(indexes[0]) in line and "--search-index" in line and "not comparable" in line
    assert "\n" not in line


def test_cli_refuses_in_one_line(indexes, other_model_dir, tmp_path, capsys):
    disc = str(indexes[0])
    assert main(["serve", "--model", str(other_model_dir), "--search-index", disc]) == 2
    err = capsys.readouterr().err.strip()
    assert "not comparable" in err and len(err.splitlines()) == 1
    assert main(["serve", "--model", "/no/such", "--search-index", disc, "--search-index",
                 disc]) == 2
    assert "two disc indexes" in capsys.readouterr().err
    assert main(["serve", "--model", "/no/such", "--search-media", str(tmp_path)]) == 2
    assert "--search-index" in capsys.readouterr().err
    assert main(["serve", "--model", "/no/such", "--search-index", disc,
                 "--search-media", str(tmp_path / "missing")]) == 2
    assert "not a directory" in capsys.readouterr().err
