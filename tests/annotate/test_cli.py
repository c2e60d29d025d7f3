"""`umer1 annotate` end to end against a real HTTP server on loopback."""
from __future__ import annotations

import json

from tests.annotate.chat_server import expected_summary
from tests.annotate.conftest import make_image, mmeb_rows, read_jsonl, write_pairs

from umer1.cli import main
from umer1.engine.prompts import GENERATION_PROMPT, render_sft_side
from umer1.train.rl.rewards import FORMAT_PATTERN


def annotate(server, tmp_path, inp, tokenizer, *extra, output="sft.jsonl"):
    out = tmp_path / output
    rc = main(["annotate", "--teacher", f"openai:{server.base_url}/test-teacher", "--input", str(inp),
               "--output", str(out), "--tokenizer", str(tokenizer), "--no-progress",
               "--retry-base-delay", "0.001", "--max-retries", "6", *extra])
    summary = json.loads((tmp_path / output.replace(".jsonl", ".summary.json")).read_text())
    return rc, out, summary


def test_flaky_server_exact_records_counters_and_rejects(chat_server, image_dir, tiny_model_dir,
                                                         monkeypatch, capsys):
    markers = {1: " FAIL429x2", 2: " FAIL500x1", 3: " RESETx2", 4: " BADJSONx1", 5: " MALFORMED",
               6: " REPEAT", 7: " LONG", 8: " REJECT400", 9: " SPLIT", 10: " FAIL500x9"}
    rows = mmeb_rows(14, lambda i: markers.get(i, ""))
    inp = write_pairs(image_dir / "pairs.jsonl", rows)
    monkeypatch.setenv("TEACHER_KEY", "sk-test")
    with chat_server(api_key="sk-test", flaky=0.2, seed=1) as server:
        rc, out, s = annotate(server, image_dir, inp, tiny_model_dir, "--concurrency", "4",
                              "--api-key-env", "TEACHER_KEY", "--max-reasoning-tokens", "200")
        assert rc == 0
        records = read_jsonl(out)
        # pairs 5..8 lose their query side to a filter or a 400; pair 10's retries run out
        kept = [i for i in range(14) if i not in (5, 6, 7, 8, 10)]
        assert [r["pos"]["conversations"][0]["value"].split("\n")[0] for r in records] == \
               [f"a red cat number {i}" for i in kept]
        for i, r in zip(kept, records):
            assert set(r) == {"dataset_name", "qry", "pos"} and r["dataset_name"] == "pairs"
            q, p = r["qry"], r["pos"]
            assert q["image"] == "images/cat.png" and "image" not in p and "video" not in q
            text = f"Represent the given image {i}{markers.get(i, '')}"
            assert q["conversations"][0] == {
                "from": "human", "value": f"<image>\n{text}\n<disc_emb>\n{GENERATION_PROMPT}"}
            ans = q["conversations"][1]
            assert ans["from"] == "gpt" and ans["value"].startswith("<think>The input is: ")
            assert ans["value"].endswith(f"</think><answer>{expected_summary(text)}\n<gen_emb>")
            assert FORMAT_PATTERN.search(ans["value"])
            # the record renders with the foundation's SFT renderer (one image, one placeholder)
            render_sft_side(q["conversations"][0]["value"], ans["value"], 1, 0)
        # counters agree with what the server saw and answered
        assert s["requests"] == len(server.log)
        assert s["retries"] == len(server.log) - 28
        assert s["prompt_tokens"] == server.usage["prompt_tokens"]
        assert s["completion_tokens"] == server.usage["completion_tokens"]
        assert s["filtered"] == {"truncated": 0, "format": 1, "reasoning_too_long": 1, "repetition": 1}
        assert s["errors"] == {"HTTP 400": 1, "retries_exhausted": 1}
        assert s["pairs_written"] == 9 and s["pairs_dropped"] == {"filtered": 3, "error": 2, "pending": 0}
        rejects = read_jsonl(image_dir / "sft.rejects.jsonl")
        assert sorted((r["row"], r["reason"]) for r in rejects) == [
            (6, "format"), (7, "repetition"), (8, "reasoning_too_long"), (9, "HTTP 400"),
            (11, "retries_exhausted")]
        assert {e["images"] for e in server.log if "cat number" not in e["text"]} == {1}

        # a rerun asks again only for the side whose retries ran out, and completes the pair
        n_before = len(server.log)
        rc, out, s2 = annotate(server, image_dir, inp, tiny_model_dir, "--api-key-env", "TEACHER_KEY",
                               "--max-reasoning-tokens", "200", "--max-retries", "10")
        assert {e["text"] for e in server.log[n_before:]} == {"Represent the given image 10 FAIL500x9"}
        assert s2["pairs_written"] == 10 and s2["errors"] == {"HTTP 400": 1}
        assert s2["this_run"]["sides_asked"] == 1
        assert len(read_jsonl(out)) == 10

        # changed filter settings do not mix with the journal's answers: refused in one line
        rc = main(["annotate", "--teacher", f"openai:{server.base_url}/test-teacher", "--input",
                   str(inp), "--output", str(out), "--tokenizer", str(tiny_model_dir)])
        assert rc == 2 and "different filters" in capsys.readouterr().err


def test_bad_key_stops_the_run_with_one_line(chat_server, image_dir, tiny_model_dir, capsys, monkeypatch):
    inp = write_pairs(image_dir / "pairs.jsonl", mmeb_rows(3))
    monkeypatch.setenv("WRONG_KEY", "nope")
    with chat_server(api_key="sk-test") as server:
        out = image_dir / "sft.jsonl"
        rc = main(["annotate", "--teacher", f"openai:{server.base_url}/m", "--input", str(inp),
                   "--output", str(out), "--tokenizer", str(tiny_model_dir), "--no-progress",
                   "--api-key-env", "WRONG_KEY"])
    assert rc == 1 and not out.exists()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "HTTP 401" in err[0] and "resume" in err[0]


def test_bad_input_names_file_row_field(image_dir, tiny_model_dir, capsys):
    rows = mmeb_rows(3)
    rows[1]["pos_image_path"] = "images/missing.png"
    inp = write_pairs(image_dir / "pairs.jsonl", rows)
    rc = main(["annotate", "--teacher", "openai:http://127.0.0.1:9/v1/m", "--input", str(inp),
               "--output", str(image_dir / "o.jsonl"), "--tokenizer", str(tiny_model_dir)])
    assert rc == 2
    err = capsys.readouterr().err
    assert "pairs.jsonl, row 2, field 'pos_image_path': no such image file" in err
    assert not (image_dir / "o.jsonl").exists()


def test_unreadable_image_is_a_per_item_error_and_retry_errors_redoes_it(chat_server, image_dir,
                                                                        tiny_model_dir):
    rows = mmeb_rows(3)
    rows[1]["qry_image_path"] = "images/broken.png"
    (image_dir / "images" / "broken.png").write_bytes(b"not a png")
    inp = write_pairs(image_dir / "pairs.jsonl", rows)
    with chat_server() as server:
        rc, out, s = annotate(server, image_dir, inp, tiny_model_dir)
        assert rc == 0 and s["pairs_written"] == 2 and s["errors"] == {"input": 1}
        assert len(server.log) == 5                      # the broken side was never sent
        rc, out, s = annotate(server, image_dir, inp, tiny_model_dir)
        assert len(server.log) == 5 and s["this_run"]["sides_asked"] == 0   # permanent: kept
        make_image(image_dir / "images" / "broken.png")
        rc, out, s = annotate(server, image_dir, inp, tiny_model_dir, "--retry-errors")
        assert len(server.log) == 6 and s["pairs_written"] == 3 and s["errors"] == {}
    assert [r["qry"]["image"] for r in read_jsonl(out)] == ["images/cat.png", "images/broken.png",
                                                           "images/cat.png"]
