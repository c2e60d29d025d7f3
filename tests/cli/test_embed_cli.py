"""`umer1 embed` and `umer1 tiny-model` as a user runs them, including every kind of bad input."""
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from umer1.cli import main


def _write(path, rows):
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return path


@pytest.fixture
def data_dir(tmp_path):
    Image.new("RGB", (40, 40), (200, 10, 10)).save(tmp_path / "red.png")
    (tmp_path / "frames").mkdir()
    for i in range(3):
        Image.new("RGB", (32, 32), (0, 80 * i, 0)).save(tmp_path / "frames" / f"{i}.png")
    return tmp_path


def test_embed_disc_and_gen_with_texts(data_dir, tiny_model_dir, capsys):
    inp = _write(data_dir / "in.jsonl", [
        {"text": "a caption"}, {"text": "classify", "image": "red.png"},
        {"image": ["red.png", str(data_dir / "red.png")]},
        {"text": "clip", "video": ["frames/0.png", "frames/1.png", "frames/2.png"]},
        {"text": "clip as folder", "video": "frames"}])
    out = data_dir / "disc.npy"
    assert main(["embed", "--model", str(tiny_model_dir), "--input", str(inp), "--output", str(out),
                 "--no-progress"]) == 0
    assert np.load(out).shape == (5, 64)
    texts = data_dir / "texts.jsonl"
    assert main(["embed", "--model", str(tiny_model_dir), "--mode", "gen", "--input", str(inp),
                 "--output", str(data_dir / "gen.npy"), "--texts", str(texts),
                 "--max-new-tokens", "6", "--no-progress"]) == 0
    rows = [json.loads(line) for line in texts.read_text().splitlines()]
    assert [r["index"] for r in rows] == list(range(5)) and all("found" in r for r in rows)
    assert np.load(data_dir / "gen.npy").shape == (5, 64)


BAD_ROWS = [
    ('{"text": "ok"}\n{"text": "broken', "row 2", "malformed JSON"),
    ('{"text": "ok"}\n["a list"]', "row 2", "JSON object"),
    ('{"text": "  "}', "field 'text'", "empty input"),
    ('{"image": "missing.png"}', "field 'image'", "no such image file"),
    ('{"image": "notes.txt"}', "field 'image'", "unsupported file type"),
    ('{"image": "corrupt.png"}', "field 'image'", "cannot read image"),
    ('{"image": "huge.png"}', "field 'image'", "over the pixel cap"),
    ('{"text": "v", "video": []}', "field 'video'", "at least one frame"),
    ('{"text": 5}', "field 'text'", "must be a string"),
]


@pytest.mark.parametrize("content,where,what", BAD_ROWS)
def test_bad_input_is_one_line_with_no_output(data_dir, tiny_model_dir, capsys, content, what, where,
                                              monkeypatch):
    (data_dir / "notes.txt").write_text("not an image")
    (data_dir / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"garbage" * 20)
    Image.new("L", (9000, 8000)).save(data_dir / "huge.png")
    inp = data_dir / "in.jsonl"
    inp.write_text(content + "\n")
    out = data_dir / "out.npy"
    code = main(["embed", "--model", str(tiny_model_dir), "--input", str(inp), "--output", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("error: ")
    assert str(inp) in err and where in err and what in err
    assert not out.exists() and not list(data_dir.glob(".out.npy*"))


def test_model_directory_without_tokens_is_one_line(data_dir, tmp_path, capsys):
    from umer1.engine.vocab import compact_tokenizer
    base = tmp_path / "plain"
    base.mkdir()
    from umer1.engine.tiny import make_tiny_model
    make_tiny_model(base)
    compact_tokenizer().save_pretrained(base)  # overwrite: a tokenizer without the two tokens
    inp = _write(data_dir / "in.jsonl", [{"text": "x"}])
    capsys.readouterr()
    assert main(["embed", "--model", str(base), "--input", str(inp),
                 "--output", str(data_dir / "o.npy")]) == 2
    err = capsys.readouterr().err
    assert "no <gen_emb> / <disc_emb>" in err and len(err.strip().splitlines()) == 1


def test_console_script_tiny_model_then_embed(tmp_path):
    """The README's first steps through the installed `umer1` entry point."""
    exe = [sys.executable, "-m", "umer1.cli"]
    r = subprocess.run(exe + ["tiny-model", str(tmp_path / "m"), "--seed", "1", "--backbone",
                              "qwen2_5_vl"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    _write(tmp_path / "in.jsonl", [{"text": "hello"}])
    r = subprocess.run(exe + ["embed", "--model", str(tmp_path / "m"), "--mode", "gen", "--input",
                              str(tmp_path / "in.jsonl"), "--output", str(tmp_path / "e.npy"),
                              "--max-new-tokens", "4", "--no-progress"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert np.load(tmp_path / "e.npy").shape == (1, 64)


@pytest.fixture
def no_model_load(monkeypatch):
    """Fails a test that loads a model: these errors must come before any loading."""
    from umer1.engine.model import UMEModel

    def refuse(*a, **k):
        raise AssertionError("the model was loaded before the error was found")
    monkeypatch.setattr(UMEModel, "from_pretrained", refuse)


@pytest.mark.parametrize("extra,where", [
    (["--temperature", "-1"], "field 'temperature'"),
    (["--mode", "gen", "--num-samples", "0"], "field 'num_samples'"),
    (["--batch-size", "0"], "field 'batch_size'"),
    (["--mode", "gen", "--max-new-tokens", "0"], "field 'max_new_tokens'"),
    (["--dtype", "int8"], "field 'dtype'"),
    (["--device", "nodevice"], "field 'device'"),
])
def test_bad_options_fail_before_loading(data_dir, capsys, no_model_load, extra, where):
    inp = _write(data_dir / "in.jsonl", [{"text": "x"}])
    code = main(["embed", "--model", "org/model", "--input", str(inp),
                 "--output", str(data_dir / "o.npy"), *extra])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and where in err


def test_unwritable_output_fails_before_loading(data_dir, capsys, no_model_load):
    inp = _write(data_dir / "in.jsonl", [{"text": "x"}])
    (data_dir / "file.txt").write_text("x")
    assert main(["embed", "--model", "org/model", "--input", str(inp),
                 "--output", str(data_dir / "file.txt" / "o.npy")]) == 2
    assert "field '--output': cannot write" in capsys.readouterr().err


def test_misspelt_field_is_refused(data_dir, capsys, no_model_load):
    inp = _write(data_dir / "in.jsonl", [{"text": "x", "imgae": "red.png"}])
    assert main(["embed", "--model", "org/model", "--input", str(inp),
                 "--output", str(data_dir / "o.npy")]) == 2
    assert "row 1, field 'imgae': unknown field (did you mean 'image'?)" in capsys.readouterr().err


def test_utf16_input_is_one_line(data_dir, capsys, no_model_load):
    inp = data_dir / "in.jsonl"
    inp.write_text('{"text": "x"}\n', encoding="utf-16")
    assert main(["embed", "--model", "org/model", "--input", str(inp),
                 "--output", str(data_dir / "o.npy")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{inp}, row 1: the file is UTF-16" in err


def test_embeddings_and_texts_are_written_as_one_unit(data_dir, tiny_model_dir, monkeypatch):
    import umer1.engine.embed_file as ef
    inp = _write(data_dir / "in.jsonl", [{"text": "x"}])
    out, texts = data_dir / "g.npy", data_dir / "g.jsonl"

    def killed(*a):
        raise KeyboardInterrupt
    monkeypatch.setattr(ef, "_write_rows", killed)
    assert main(["embed", "--model", str(tiny_model_dir), "--mode", "gen", "--input", str(inp),
                 "--output", str(out), "--texts", str(texts), "--max-new-tokens", "2",
                 "--no-progress"]) == 130
    assert not out.exists() and not texts.exists()
    assert sorted(p.name for p in data_dir.iterdir() if p.name.startswith(".")) == []


def test_tiny_model_onto_an_existing_file(tmp_path, capsys):
    (tmp_path / "m").write_text("not a folder")
    assert main(["tiny-model", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "exists and is not a folder" in err
    assert main(["tiny-model", str(tmp_path / "n"), "--hidden-size", "60"]) == 2
    assert "multiple of 8" in capsys.readouterr().err


def test_missing_local_model_fails_at_once(data_dir, capsys):
    import time
    inp = _write(data_dir / "in.jsonl", [{"text": "x"}])
    t0 = time.monotonic()
    assert main(["embed", "--model", str(data_dir / "no" / "model"), "--input", str(inp),
                 "--output", str(data_dir / "o.npy")]) == 2
    assert time.monotonic() - t0 < 5 and "no such model folder" in capsys.readouterr().err
