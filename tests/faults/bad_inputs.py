"""The bad-input table: each bad input, the command, and exactly what the user gets.

`tests/faults/test_bad_inputs.py` runs every row as a CLI call and checks the result;
docs/bad-input.md shows the same rows, rendered by this module. After changing a row, rewrite
the docs table with `python -m tests.faults.bad_inputs --write`.

In a command, `{d}` is a scratch folder (shown without it), `{model}` a tiny UME checkpoint
(shown as MODEL), `{repo}` the repository and `{port}` a closed loopback port (PORT). In an
expected line, a trailing `…` marks where the rest varies (a library's or the OS's wording).
"""
from __future__ import annotations

import json
import shutil
import struct
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from PIL import Image

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "bad-input.md"
BEGIN, END = "<!-- bad-input table: begin -->", "<!-- bad-input table: end -->"


@dataclass(frozen=True)
class Case:
    id: str
    bad_input: str                  # what the user did
    argv: tuple[str, ...]
    says: str                       # the one stderr line
    setup: Callable[[Path, Path], None] | None = None   # (scratch folder, model folder)
    status: int = 2
    loads_model: bool = False       # False: refused before any weights are read
    left: str = "nothing new"       # what is on disk afterwards
    needs_no_gpu: bool = False


# ----- files the cases start from ----------------------------------------------------------
def jsonl(name: str, *rows) -> Callable[[Path, Path], None]:
    def write(d: Path, model: Path) -> None:
        (d / name).write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return write


def both(*steps) -> Callable[[Path, Path], None]:
    def run(d: Path, model: Path) -> None:
        for step in steps:
            step(d, model)
    return run


def image(name: str, size=(56, 56)) -> Callable[[Path, Path], None]:
    return lambda d, model: Image.new("RGB", size, (200, 20, 20)).save(d / name)


def utf16(d: Path, model: Path) -> None:
    (d / "in.jsonl").write_text('{"text": "a cat"}\n', encoding="utf-16")


def bomb(d: Path, model: Path) -> None:
    """A 20000x20000 PNG of 67 bytes: only its header says how big it is."""
    Image.new("L", (1, 1)).save(d / "bomb.png")
    data = bytearray((d / "bomb.png").read_bytes())
    data[16:24] = struct.pack(">II", 20000, 20000)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    (d / "bomb.png").write_bytes(bytes(data))


def truncated_jpeg(d: Path, model: Path) -> None:
    Image.effect_noise((64, 64), 50).convert("RGB").save(d / "cut.jpg", quality=95)
    data = (d / "cut.jpg").read_bytes()
    (d / "cut.jpg").write_bytes(data[:len(data) // 2])


def model_copy(name: str, drop=(), cut: str | None = None) -> Callable[[Path, Path], None]:
    def make(d: Path, model: Path) -> None:
        shutil.copytree(model, d / name, ignore=shutil.ignore_patterns(*drop))
        if cut:
            data = (d / name / cut).read_bytes()
            (d / name / cut).write_bytes(data[:len(data) // 2])
    return make


def sft_data(rows: int) -> Callable[[Path, Path], None]:
    def write(d: Path, model: Path) -> None:
        from tests.train.conftest import write_sft_data
        write_sft_data(d / "data", rows, datasets=("colors",))
    return write


def sft_row_with(image_path: str) -> Callable[[Path, Path], None]:
    def write(d: Path, model: Path) -> None:
        sft_data(4)(d, model)
        path = d / "data" / "sft.jsonl"
        rows = [json.loads(line) for line in path.read_text().splitlines()]
        rows[1]["qry"]["image"] = image_path
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return write


def rl_data(d: Path, model: Path) -> None:
    from tests.train.rl_helpers import write_rl_data
    write_rl_data(d, rows=4)


def old_run(d: Path, model: Path) -> None:
    (d / "run").mkdir()
    (d / "run" / "run.json").write_text("{}\n")


def tasks(d: Path, model: Path) -> None:
    (d / "tasks").mkdir()
    jsonl("tasks/mine.jsonl", {"query": "red", "positives": [{"text": "a red thing"}]},
          {"query": "blue", "positives": [{"text": "a blue thing"}]})(d, model)


def taken(d: Path, model: Path) -> None:
    (d / "taken").write_text("a file, not a folder\n")


# ----- the commands --------------------------------------------------------------------------
EMBED = ("embed", "--model", "{model}", "--input", "{d}/in.jsonl", "--output", "{d}/out.npy",
         "--no-progress")
ONE = jsonl("in.jsonl", {"text": "a cat"})
EVAL = ("eval", "--model", "{model}", "--tasks", "{d}/tasks", "--output", "{d}/scores", "--no-progress")
TRAIN = ("--set", "train.output_dir={d}/run", "--set", "train.plot=false",
         "--set", "train.progress_bar=false")
SFT = ("train", "sft", "--config", "{repo}/configs/sft/tiny.yaml", "--set", "model.base={model}",
       "--set", "data.train_file={d}/data/sft.jsonl", *TRAIN)
RL = ("train", "rl", "--config", "{repo}/configs/rl/tiny.yaml", "--set", "model.base={model}",
      "--set", "data.train_file={d}/rl.jsonl", *TRAIN)
ANNOTATE = ("annotate", "--teacher", "openai:http://127.0.0.1:{port}/v1/m", "--input",
            "{d}/pairs.jsonl", "--output", "{d}/sft.jsonl", "--tokenizer", "{model}", "--no-progress",
            "--max-retries", "0")
PAIRS = jsonl("pairs.jsonl", {"qry": {"text": "a cat"}, "pos": {"text": "a small cat"}})
MISSING_CKPT = "{d}/run/checkpoints/step-00000099"

CASES = [
    # inputs
    Case("utf16", "input file saved as UTF-16", EMBED,
         "error: in.jsonl, row 1: the file is UTF-16 (it starts with a UTF-16 byte-order mark); save it as UTF-8",
         utf16),
    Case("malformed-json", "a row that is not JSON", EMBED,
         "error: in.jsonl, row 2: malformed JSON: Expecting ',' delimiter at column 18",
         jsonl("in.jsonl", {"text": "a cat"}, '{"text": "a dog" "image": "x.png"}')),
    Case("empty-input", "an empty input file", EMBED,
         "error: in.jsonl: no inputs (the file is empty)", jsonl("in.jsonl")),
    Case("misspelt-field", "a misspelt field (`imgae`)", EMBED,
         "error: in.jsonl, row 1, field 'imgae': unknown field (did you mean 'image'?); a row may have "
         "text, image, images, video, id", jsonl("in.jsonl", {"text": "a cat", "imgae": "cat.png"})),
    Case("missing-image", "an image file that does not exist", EMBED,
         "error: in.jsonl, row 1, field 'image': no such image file: cat.png",
         jsonl("in.jsonl", {"image": "cat.png"})),
    Case("thin-image", "a 1x5000 image", EMBED,
         "error: in.jsonl, row 1, field 'image': thin.png is 1x5000 pixels, an aspect ratio over the limit of 200:1",
         both(image("thin.png", (1, 5000)), jsonl("in.jsonl", {"image": "thin.png"}))),
    Case("bomb", "a decompression bomb (a 20000x20000 PNG of 67 bytes)", EMBED,
         "error: in.jsonl, row 1, field 'image': bomb.png is over the pixel cap of 64000000 (Pillow refuses "
         "it as a possible decompression bomb)",
         both(bomb, jsonl("in.jsonl", {"image": "bomb.png"}))),
    Case("long-text", "a 1,000,000-character text", EMBED,
         "error: in.jsonl, row 1, field 'text': the text is 1000000 tokens, over the limit of 32768 "
         "(the model's context)", jsonl("in.jsonl", {"text": "a" * 1_000_000}), loads_model=True),
    # options
    Case("batch-size-0", "`--batch-size 0`", EMBED + ("--batch-size", "0"),
         "error: field 'batch_size': must be an integer >= 1, got 0", ONE),
    Case("num-samples-0", "`--num-samples 0`", EMBED + ("--mode", "gen", "--num-samples", "0"),
         "error: field 'num_samples': must be an integer >= 1, got 0", ONE),
    Case("temperature", "`--temperature -1`", EMBED + ("--mode", "gen", "--temperature", "-1"),
         "error: field 'temperature': must be a finite number >= 0 (0 = greedy), got -1.0", ONE),
    Case("dtype", "`--dtype int8`", EMBED + ("--dtype", "int8"),
         "error: field 'dtype': unknown dtype 'int8'; expected auto, float32, fp32, bfloat16, bf16, float16, fp16",
         ONE),
    Case("no-gpu", "`--device cuda` on a machine without a GPU", EMBED + ("--device", "cuda"),
         "error: field 'device': 'cuda' asked for, but CUDA is not available here (no GPU, or a CPU-only "
         "torch build)", ONE, needs_no_gpu=True),
    Case("unwritable-output", "an output path that cannot be written",
         EMBED[:5] + ("--output", "{d}/taken/out.npy"),
         "error: field '--output': cannot write taken/out.npy: taken is a file, not a folder", both(ONE, taken)),
    Case("eval-batch-size-0", "`--batch-size 0`", EVAL + ("--batch-size", "0"),
         "error: field '--batch-size': must be at least 1", tasks),
    Case("eval-num-samples-0", "`--num-samples 0`", EVAL + ("--num-samples", "0"),
         "error: field '--num-samples': must be at least 1", tasks),
    Case("eval-temperature", "`--temperature -1`", EVAL + ("--temperature", "-1"),
         "error: field 'temperature': must be a finite number >= 0 (0 = greedy), got -1.0", tasks),
    Case("eval-unwritable-output", "an output folder that cannot be written",
         EVAL[:5] + ("--output", "{d}/taken/scores", "--no-progress"),
         "error: field '--output': cannot write taken/scores/run_config.json: taken is a file, not a "
         "folder", both(tasks, taken)),
    # models
    Case("no-model", "a `--model` folder that does not exist", EMBED[:1] + ("--model", "{d}/no/model") + EMBED[3:],
         "error: no/model: no such model folder", ONE),
    Case("eval-no-model", "a `--model` folder that does not exist",
         EVAL[:1] + ("--model", "{d}/no/model") + EVAL[3:], "error: no/model: no such model folder", tasks),
    Case("no-weights", "a model folder without weights", EMBED[:1] + ("--model", "{d}/m") + EMBED[3:],
         "error: m: cannot load the weights: …", both(ONE, model_copy("m", drop=["*.safetensors"])),
         loads_model=True),
    Case("cut-weights", "a model folder with truncated weights", EMBED[:1] + ("--model", "{d}/m") + EMBED[3:],
         "error: m: cannot load the weights: …", both(ONE, model_copy("m", cut="model.safetensors")),
         loads_model=True),
    Case("no-tokenizer", "a model folder without tokenizer files", EMBED[:1] + ("--model", "{d}/m") + EMBED[3:],
         "error: m: no tokenizer files in this folder (expected one of tokenizer.json, "
         "tokenizer_config.json, vocab.json, tokenizer.model)",
         both(ONE, model_copy("m", drop=["tokenizer.json", "tokenizer_config.json", "vocab.json"]))),
    Case("tiny-model-onto-file", "`umer1 tiny-model` onto an existing file", ("tiny-model", "{d}/taken"),
         "error: taken: exists and is not a folder; a model is written as a folder", taken),
    # training
    Case("sft-steps-0", "`train.steps=0`", SFT + ("--set", "train.steps=0"),
         "error: field 'train.steps': must be at least 1, got 0", sft_data(16)),
    Case("sft-steps-negative", "`train.steps=-3`", SFT + ("--set", "train.steps=-3"),
         "error: field 'train.steps': must be at least 1, got -3", sft_data(16)),
    Case("sft-lr-negative", "`optim.lr=-1`", SFT + ("--set", "optim.lr=-1"),
         "error: field 'optim.lr': must be > 0, got -1.0", sft_data(16)),
    Case("sft-lr-nan", "`optim.lr=nan`", SFT + ("--set", "optim.lr=nan"),
         "error: field 'optim.lr': must be a finite number, got nan", sft_data(16)),
    Case("sft-rerun", "a second run into a folder holding a run, without `--resume`", SFT,
         "error: field 'train.output_dir': run already holds a run: pass --resume to continue it, "
         "--overwrite to replace it, or choose another folder", both(sft_data(16), old_run),
         left="the earlier run, untouched"),
    Case("sft-resume-missing", "`--resume` to a checkpoint that does not exist", SFT + ("--resume", MISSING_CKPT),
         "error: run/checkpoints/step-00000099, field '--resume': no checkpoint there (expected a "
         "checkpoints/step-N folder holding trainer_state.json)", sft_data(16)),
    Case("sft-truncated-jpeg", "a truncated JPEG in the SFT data", SFT,
         "error: data/sft.jsonl, row 2, field 'qry.image': cannot read image data/../cut.jpg: image file is "
         "truncated …",
         both(truncated_jpeg, sft_row_with("../cut.jpg"))),
    Case("sft-too-few-rows", "fewer SFT pairs than one batch", SFT,
         "error: field 'data.batch_size': not enough pairs for one batch of 4 (groups of 4 pairs of one "
         "dataset)", sft_data(2)),
    Case("rl-steps-0", "`train.steps=0`", RL + ("--set", "train.steps=0"),
         "error: field 'train.steps': must be at least 1, got 0", rl_data),
    Case("rl-lr-nan", "`optim.lr=nan`", RL + ("--set", "optim.lr=nan"),
         "error: field 'optim.lr': must be a finite number, got nan", rl_data),
    Case("rl-rerun", "a second run into a folder holding a run, without `--resume`", RL,
         "error: field 'train.output_dir': run already holds a run: pass --resume to continue it, "
         "--overwrite to replace it, or choose another folder", both(rl_data, old_run),
         left="the earlier run, untouched"),
    Case("rl-resume-missing", "`--resume` to a checkpoint that does not exist", RL + ("--resume", MISSING_CKPT),
         "error: run/checkpoints/step-00000099, field '--resume': no checkpoint there (expected a "
         "checkpoints/step-N folder holding trainer_state.json)", rl_data),
    # annotation
    Case("teacher-unreachable", "a teacher server that cannot be reached", ANNOTATE,
         "error: cannot reach the teacher at http://127.0.0.1:PORT/v1/chat/completions (connection error: "
         "ConnectError on each of 1 attempts); finished sides are kept in sft.jsonl.journal, run the same "
         "command again to resume", PAIRS, status=1,
         left="the journal (`sft.jsonl.journal`): a rerun resumes"),
    Case("annotate-temperature", "`--temperature -1`", ANNOTATE + ("--temperature", "-1"),
         "error: field 'temperature': must be a finite number >= 0 (0 = greedy), got -1.0", PAIRS),
]


def shown(argv) -> str:
    """A command as the docs show it."""
    text = " ".join(["umer1", *argv]).replace("{d}/", "").replace("{repo}/", "")
    return text.replace("{model}", "MODEL").replace("{port}", "PORT")


def render_table() -> str:
    rows = ["| Bad input | Command | stderr (one line) | Exit | Left on disk |",
            "|---|---|---|---|---|"]
    for c in CASES:
        cells = [c.bad_input, f"`{shown(c.argv)}`", f"`{c.says}`", str(c.status), c.left]
        rows.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(rows)


def docs_table() -> str:
    text = DOC.read_text(encoding="utf-8")
    return text[text.index(BEGIN) + len(BEGIN):text.index(END)].strip()


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        text = DOC.read_text(encoding="utf-8")
        head, rest = text.split(BEGIN)
        DOC.write_text(f"{head}{BEGIN}\n{render_table()}\n{END}{rest.split(END, 1)[1]}", encoding="utf-8")
    else:
        print(render_table())
