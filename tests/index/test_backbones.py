"""`umer1 index build` and `umer1 search` on a model of each backbone."""
from __future__ import annotations

import json

from umer1.cli import main
from tests.index.util import TEXTS


def test_every_backbone_builds_and_searches_an_index(tmp_path, corpus, backbone_dir, capsys):
    out = tmp_path / "idx"
    assert main(["index", "build", "--model", str(backbone_dir), "--input", str(corpus),
                 "--out", str(out), "--no-progress"]) == 0
    assert "8 disc embeddings" in capsys.readouterr().out
    assert main(["search", str(out), "--text", TEXTS[2], "-k", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.splitlines()[0])["id"] == "doc2"
