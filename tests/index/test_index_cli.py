"""`umer1 index build`, `umer1 index add` and `umer1 search` end to end."""
from __future__ import annotations

import json

from umer1.cli import main
from tests.index.util import TEXTS, write_corpus


def _hits(capsys):
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_build_search_add(tmp_path, corpus, tiny_model_dir, capsys):
    out = tmp_path / "idx"
    assert main(["index", "build", "--model", str(tiny_model_dir), "--input", str(corpus),
                 "--out", str(out), "--kind", "hnsw", "--no-progress"]) == 0
    assert "8 disc embeddings" in capsys.readouterr().out
    # --model defaults to the model recorded in the index
    assert main(["search", str(out), "--text", TEXTS[4], "-k", "2", "--json"]) == 0
    hits = _hits(capsys)
    assert len(hits) == 2 and hits[0]["id"] == "doc4" and hits[0]["rank"] == 1
    assert main(["search", str(out), "--model", str(tiny_model_dir),
                 "--image", str(corpus.parent / "im0.png"), "-k", "1", "--json"]) == 0
    assert _hits(capsys)[0]["id"] == "img0"
    more = write_corpus(tmp_path / "more.jsonl", [{"id": "x1", "text": "an added row"}])
    assert main(["index", "add", str(out), "--input", str(more), "--no-progress"]) == 0
    assert "now holds 9" in capsys.readouterr().out
    assert main(["search", str(out), "--text", "an added row", "-k", "1", "--json"]) == 0
    assert _hits(capsys)[0]["id"] == "x1"


def test_refusals_exit_2_in_one_line(tmp_path, corpus, tiny_model_dir, tiny_qwen25_dir, capsys):
    out = tmp_path / "idx"
    assert main(["index", "build", "--model", str(tiny_model_dir), "--input", str(corpus),
                 "--out", str(out), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["search", str(out), "--text", "q", "--mode", "gen"]) == 2
    err = capsys.readouterr().err
    assert "not aligned" in err and len(err.strip().splitlines()) == 1
    assert main(["search", str(out), "--model", str(tiny_qwen25_dir), "--text", "q"]) == 2
    assert "not comparable" in capsys.readouterr().err
    assert main(["search", str(out), "--text", "  "]) == 2
    assert "empty input" in capsys.readouterr().err
    assert main(["index", "build", "--model", str(tiny_model_dir), "--input", str(corpus),
                 "--out", str(out)]) == 2
    assert "already exists" in capsys.readouterr().err
    bad = write_corpus(tmp_path / "bad.jsonl", [{"text": "ok"}, {"text": 5}])
    assert main(["index", "build", "--model", str(tiny_model_dir), "--input", str(bad),
                 "--out", str(tmp_path / "idx2")]) == 2
    assert "row 2, field 'text'" in capsys.readouterr().err
    assert not (tmp_path / "idx2").exists()


def test_routed_search_answers_from_disc_or_gen(tmp_path, corpus, tiny_model_dir, capsys):
    disc, gen = tmp_path / "disc", tmp_path / "gen"
    common = ["--model", str(tiny_model_dir), "--input", str(corpus), "--no-progress"]
    assert main(["index", "build", *common, "--out", str(disc)]) == 0
    assert main(["index", "build", *common, "--out", str(gen), "--mode", "gen",
                 "--max-new-tokens", "4"]) == 0
    capsys.readouterr()
    base = ["search", str(disc), "--text", TEXTS[4], "-k", "3", "--json", "--max-new-tokens", "4"]
    assert main([*base, "--router", "disc"]) == 0
    *hits, cost = _hits(capsys)
    assert len(hits) == 3 and cost["routing"]["reasoned"] == 0
    assert main([*base, "--router", "gen", "--gen-index", str(gen)]) == 0
    *hits, cost = _hits(capsys)
    assert len(hits) == 3 and cost["routing"]["reasoned"] == 1
    assert cost["routing"]["generated_tokens"] > 0
    # gen answers come from the gen index: the same as searching it in gen mode directly
    assert main(["search", str(gen), "--text", TEXTS[4], "-k", "3", "--json",
                 "--max-new-tokens", "4"]) == 0
    assert [h["id"] for h in _hits(capsys)] == [h["id"] for h in hits]
    assert main([*base, "--router", "rule:0.5"]) == 2        # unaligned: the gen index is needed
    assert "--gen-index" in capsys.readouterr().err
    assert main([*base, "--router", "rule:7", "--gen-index", str(gen)]) == 2
    assert "--router" in capsys.readouterr().err
