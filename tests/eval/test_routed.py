"""`umer1 eval --router`: a routed run beside the plain modes, its costs recorded, bad routers
refused in one line before anything is written."""
import json

import numpy as np

from umer1.cli import main
from umer1.engine.fingerprint import model_fingerprint
from umer1.routing import fit_gate


def run_eval(model_dir, data_root, out, *extra):
    return main(["eval", "--model", str(model_dir), "--tasks", str(data_root / "tasks.yaml"),
                 "--output", str(out), "--no-progress", "--only", "TinyCls", "TinyPairs",
                 "--max-new-tokens", "4", *extra])


def _scores(out, mode):
    return {n: r["main_score"] for n, r in
            json.loads((out / mode / "summary.json").read_text())["tasks"].items()}


def test_routing_every_query_matches_gen_and_none_matches_disc(tiny_model_dir, data_root, tmp_path, capsys):
    out = tmp_path / "gen"
    assert run_eval(tiny_model_dir, data_root, out, "--mode", "gen", "--router", "gen") == 0
    assert "always-gen: 100% reasoned" in capsys.readouterr().out
    assert _scores(out, "routed") == _scores(out, "gen")
    rec = json.loads((out / "routed" / "TinyCls_score.json").read_text())
    cost = rec["routing"]
    assert rec["mode"] == "routed" and cost["router"] == "always-gen"
    assert cost["fraction_reasoned"] == 1.0 and cost["corpus_modes"] == ["disc", "gen"]
    # the budget cuts every trace here: 4 tokens and the forced <gen_emb>
    assert cost["tokens_per_query"] == 5 and cost["gen_emb_found_rate"] == 0 and cost["seconds_per_query"] > 0
    agg = json.loads((out / "routed" / "summary.json").read_text())["aggregates"]["routing"]
    assert agg["queries"] == 4 + 3 and agg["fraction_reasoned"] == 1.0
    assert "Router `always-gen`: reasoned for 100.0%" in (out / "routed" / "summary.md").read_text()

    out = tmp_path / "disc"
    assert run_eval(tiny_model_dir, data_root, out, "--router", "rule:0") == 0
    assert _scores(out, "routed") == _scores(out, "disc")
    cost = json.loads((out / "routed" / "TinyCls_score.json").read_text())["routing"]
    assert cost["fraction_reasoned"] == 0 and cost["generated_tokens"] == 0


def test_a_rule_reasons_for_the_queries_with_small_margins(tiny_model_dir, data_root, tmp_path):
    out = tmp_path / "o"
    assert run_eval(tiny_model_dir, data_root, out, "--router", "rule:0.5") == 0
    preds = [json.loads(l) for l in (out / "disc" / "TinyCls_pred.jsonl").read_text().splitlines()]
    margins = np.array([p["scores"][0] - p["scores"][1] for p in preds])
    cost = json.loads((out / "routed" / "TinyCls_score.json").read_text())["routing"]
    assert cost["reasoned"] == int((margins < 0.5).sum())


def _one_line_error(capsys, *words):
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for w in words:
        assert w in err, err


def test_bad_routers_are_one_line_errors(tiny_model_dir, tiny_qwen25_dir, data_root, tmp_path, capsys):
    for spec in ("rule:1.5", "rule:-0.1", "rule:nan", "rule:x", "sometimes"):
        assert run_eval(tiny_model_dir, data_root, tmp_path / "o", "--router", spec) == 2
        _one_line_error(capsys, "--router")
        assert not (tmp_path / "o").exists()
    not_gate = tmp_path / "not_gate.json"
    not_gate.write_text('{"hello": 1}')
    assert run_eval(tiny_model_dir, data_root, tmp_path / "o", "--router", f"gate:{not_gate}") == 2
    _one_line_error(capsys, "not a routing gate file", str(not_gate))
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(b"\x00\xff\x10")
    assert run_eval(tiny_model_dir, data_root, tmp_path / "o", "--router", f"gate:{garbage}") == 2
    _one_line_error(capsys, "not a routing gate file")

    from umer1 import UMEModel
    other = model_fingerprint(UMEModel.from_pretrained(tiny_qwen25_dir))
    rng = np.random.default_rng(0)
    gate = tmp_path / "gate.json"
    fit_gate(rng.normal(size=(8, 67)), np.arange(8) % 2, other).save(gate)
    assert run_eval(tiny_model_dir, data_root, tmp_path / "o2", "--router", f"gate:{gate}") == 2
    _one_line_error(capsys, "trained for another model", "fingerprint")
