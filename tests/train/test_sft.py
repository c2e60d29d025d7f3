"""The SFT trainer end to end on a tiny model: labels, multi-process equality, resume, GradCache,
learning, run-folder safety, config validation, CLI errors."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from huggingface_hub import ModelCard

from umer1.cli import main as cli_main
from umer1.utils.config import load_config
from umer1.data.sft import read_sft
from umer1.engine.model import UMEModel
from umer1.engine.tiny import make_tiny_model
from umer1.train.sft import SFTConfig, run
from umer1.train.sft.collate import SFTCollator
from umer1.utils.errors import InputError
from umer1.utils.files import file_sha256
from umer1.utils.plots import read_metrics

REPO = Path(__file__).resolve().parents[2]
TERMS = ("con_gen", "con_disc", "ntp_query", "ntp_target")


@pytest.fixture(scope="module")
def setup(tmp_path_factory, sft_writer):
    root = tmp_path_factory.mktemp("sft")
    base = make_tiny_model(root / "base", seed=0)
    data = sft_writer(root / "data", 16)
    return root, base, data


def config(setup, out: str, *extra: str) -> SFTConfig:
    root, base, data = setup
    return load_config(SFTConfig, REPO / "configs/sft/tiny.yaml", [
        f"model.base={base}", f"data.train_file={data}", f"train.output_dir={root / out}",
        "train.progress_bar=false", "train.plot=false", "train.save_every=0", *extra])


def rows(setup, out):
    return read_metrics(setup[0] / out / "metrics.jsonl")


def close(a: dict, b: dict, keys=TERMS + ("loss", "grad_norm"), rel=1e-4):
    for k in keys:
        assert a[k] == pytest.approx(b[k], rel=rel, abs=1e-6), (k, a, b)


def test_labels_cover_only_the_assistant_turn(setup):
    _, base, data = setup
    ume = UMEModel.from_pretrained(base)
    tok = ume.processor.tokenizer
    pairs = read_sft(data)[:3]
    batch = SFTCollator(ume.processor, ume.settings, gen_id=ume.ids.gen, disc_id=ume.ids.disc)(pairs)
    ids, mask, attn = batch.side.inputs["input_ids"], batch.side.score_mask, batch.side.inputs["attention_mask"]
    assert ids.shape[0] == 6 and batch.side.inputs["image_grid_thw"].shape[0] == 6  # blank images for text sides
    for r, side in enumerate([p.query for p in pairs] + [p.target for p in pairs]):
        assert tok.decode(ids[r][mask[r]]) == side.answer + "<|im_end|>\n"
        assert not mask[r][attn[r] == 0].any()          # padding never scored
        assert ids[r, batch.side.disc_pos[r]] == ume.ids.disc and ids[r, batch.side.gen_pos[r]] == ume.ids.gen
        assert batch.side.gen_pos[r] > batch.side.disc_pos[r]


def test_truncation_keeps_disc_and_drops_pairs_whose_gen_is_cut(setup):
    _, base, data = setup
    ume = UMEModel.from_pretrained(base)
    pairs = read_sft(data)[:4]
    pairs[0].query.answer = "<think>" + "a much longer reasoning " * 10 + "</think><answer>x\n<gen_emb>"
    full = SFTCollator(ume.processor, ume.settings, gen_id=ume.ids.gen, disc_id=ume.ids.disc)(pairs)
    gen = full.side.gen_pos
    limit = int(gen[1:].max().item()) + 1       # every <gen_emb> but the long query's survives
    cut = SFTCollator(ume.processor, ume.settings, gen_id=ume.ids.gen, disc_id=ume.ids.disc,
                      max_length=limit)(pairs)
    kept = int((gen[:4] < limit).sum())
    assert len(cut) == kept == 3 and cut.dropped == 1 and cut.datasets == [p.dataset for p in pairs[1:]]
    assert cut.side.inputs["input_ids"].shape[1] <= limit
    ids = cut.side.inputs["input_ids"]
    assert (ids[torch.arange(ids.shape[0]), cut.side.gen_pos] == ume.ids.gen).all()


def test_two_processes_equal_one_process(setup):
    args = ["train.steps=2", "data.order=shuffle", "data.group_size=2", "data.batch_size=4"]
    run(config(setup, "one", *args))
    root, base, data = setup
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--config_file",
           str(REPO / "configs/accelerate/ddp_cpu.yaml"), "-m", "umer1.cli", "train", "sft",
           "--config", str(REPO / "configs/sft/tiny.yaml")]
    for kv in [f"model.base={base}", f"data.train_file={data}", f"train.output_dir={root / 'two'}",
               "train.progress_bar=false", "train.plot=false", "train.save_every=0", *args]:
        cmd += ["--set", kv]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    res = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=240)
    assert res.returncode == 0, res.stderr[-3000:]
    one, two = rows(setup, "one"), rows(setup, "two")
    assert len(one) == len(two) == 2
    for a, b in zip(one, two):   # same loss AND same gradient (norm) as one process
        close(a, b)
        assert a["pairs"] == b["pairs"] == 4


@pytest.mark.faults
def test_resume_equals_uninterrupted_run(setup):
    args = ["train.steps=6", "train.save_every=3", "train.keep_last=5"]
    run(config(setup, "full", *args))
    root = setup[0]
    card = ModelCard.load(root / "full" / "checkpoints" / "step-00000003" / "model" / "README.md")
    assert card.data.to_dict()["umer1"]["step"] == 3     # a checkpoint's card says which step
    # a run "killed" right after its step-3 checkpoint: only that checkpoint survives
    shutil.copytree(root / "full", root / "killed")
    for p in (root / "killed" / "checkpoints").iterdir():
        if p.name != "step-00000003":
            shutil.rmtree(p)
    shutil.rmtree(root / "killed" / "final")
    (root / "killed" / "checkpoints" / ".tmp-step-00000006").mkdir()   # a half-written save
    run(config(setup, "killed", *args), resume=True)
    full, resumed = rows(setup, "full"), rows(setup, "killed")
    assert [r["step"] for r in resumed] == [1, 2, 3, 4, 5, 6]
    for a, b in zip(full[3:], resumed[3:]):
        close(a, b, rel=1e-5)
        assert a["lr"] == pytest.approx(b["lr"])
    assert not (root / "killed" / "checkpoints" / ".tmp-step-00000006").exists()
    a = UMEModel.from_pretrained(root / "full" / "final").encode(["probe"])
    b = UMEModel.from_pretrained(root / "killed" / "final").encode(["probe"])
    assert a == pytest.approx(b, abs=1e-5)


def test_grad_cache_equals_full_batch(setup):
    run(config(setup, "plain", "train.steps=2"))
    run(config(setup, "cached", "train.steps=2", "loss.grad_cache_chunk=1"))
    for a, b in zip(rows(setup, "plain"), rows(setup, "cached")):
        close(a, b, rel=1e-4)


def test_training_lowers_every_loss_term(setup):
    summary = run(config(setup, "long", "train.steps=50", "optim.lr=2e-3", "train.plot=true",
                           "optim.warmup_ratio=0.05"))
    r = rows(setup, "long")
    assert len(r) == 50 and Path(summary["plot"]).stat().st_size > 0
    for term in TERMS:
        first = sum(x[term] for x in r[:5]) / 5
        last = sum(x[term] for x in r[-5:]) / 5
        assert last < first, (term, first, last)
    out = setup[0] / "long"
    resolved = json.loads((out / "run.json").read_text())
    assert resolved["effective_contrastive_batch"] == 4 and resolved["base_model"] == str(setup[1])
    assert (out / "config.yaml").is_file() and (out / "final" / "umer1.json").is_file()
    assert UMEModel.from_pretrained(out / "final").encode(["x"], mode="disc").shape == (1, 64)
    # every saved model carries its card: stage, base, steps, the data's hash, the config used
    card = ModelCard.load(out / "final" / "README.md")
    recorded = card.data.to_dict()["umer1"]
    assert recorded["stage"] == "sft" and recorded["step"] == 50 and recorded["total_steps"] == 50
    assert recorded["base_model"] == str(setup[1])
    assert recorded["data"] == {str(setup[2]): file_sha256(setup[2])}
    assert "## Configuration" in card.text and "train_file:" in card.text


def test_cli_rejects_bad_config_and_data(setup, tmp_path, capsys):
    assert cli_main(["train", "sft", "--config", str(REPO / "configs/sft/tiny.yaml"),
                     "--set", "loss.con_gne=0"]) == 2
    assert "loss.con_gne" in capsys.readouterr().err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"qry": {"conversations": []}, "pos": {}}\n')
    assert cli_main(["train", "sft", "--config", str(REPO / "configs/sft/tiny.yaml"),
                     "--set", f"data.train_file={bad}", "--set", f"model.base={setup[1]}",
                     "--set", f"train.output_dir={tmp_path / 'o'}"]) == 2
    err = capsys.readouterr().err
    assert f"{bad}, row 1, field 'qry.conversations'" in err and "Traceback" not in err


def test_a_run_folder_is_never_clobbered(setup, capsys):
    root, base, data = setup
    cfg = config(setup, "safe", "train.steps=2")
    run(cfg)
    metrics = (root / "safe" / "metrics.jsonl").read_text()
    with pytest.raises(InputError) as err:
        run(cfg)
    assert err.value.field == "train.output_dir"
    assert "--resume" in str(err.value) and "--overwrite" in str(err.value)
    assert (root / "safe" / "metrics.jsonl").read_text() == metrics
    info = json.loads((root / "safe" / "run.json").read_text())
    assert info["data_sha256"][str(data)] and info["config"]["train"]["steps"] == 2
    cli = ["train", "sft", "--config", str(REPO / "configs/sft/tiny.yaml"), "--set", f"model.base={base}",
           "--set", f"data.train_file={data}", "--set", f"train.output_dir={root / 'safe'}",
           "--set", "train.plot=false", "--set", "train.progress_bar=false"]
    for extra in ([], ["--resume", str(root / "safe" / "checkpoints" / "step-00000099")],
                  ["--resume", "--overwrite"]):
        assert cli_main(cli + extra) == 2
        lines = capsys.readouterr().err.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in lines[0], lines
    # resuming on other data is refused: the checkpoint's data position indexes the old file
    changed = data.parent / "changed.jsonl"
    changed.write_text("".join(data.read_text().splitlines(keepends=True)[:-1]))
    with pytest.raises(InputError) as err:
        run(config(setup, "safe", "train.steps=3", f"data.train_file={changed}"), resume=True)
    assert err.value.field == "data.train_file"
    # --overwrite starts a new run in the folder
    run(config(setup, "safe", "train.steps=1"), overwrite=True)
    assert [r["step"] for r in rows(setup, "safe")] == [1]
    assert not (root / "safe" / "checkpoints" / "step-00000002").exists()


@pytest.mark.parametrize("override, key", [
    ("train.steps=0", "train.steps"), ("train.steps=-3", "train.steps"),
    ("optim.lr=-1", "optim.lr"), ("optim.lr=nan", "optim.lr"), ("optim.lr=0", "optim.lr"),
    ("data.batch_size=0", "data.batch_size"), ("optim.grad_accum=0", "optim.grad_accum"),
    ("train.epochs=1", "train.epochs"), ("loss.temperature=0", "loss.temperature"),
])
def test_bad_config_values_fail_before_anything_is_written(setup, override, key):
    with pytest.raises(InputError) as err:
        run(config(setup, "never", override))
    assert err.value.field == key
    assert not (setup[0] / "never").exists()


def test_too_few_pairs_fail_before_anything_is_written(setup, sft_writer):
    root = setup[0]
    few = sft_writer(root / "few", 2, datasets=("colors",))
    with pytest.raises(InputError) as err:
        run(config(setup, "few_out", f"data.train_file={few}", "data.batch_size=4"))
    assert err.value.field == "data.batch_size" and not (root / "few_out").exists()


def test_epochs_set_the_step_count(setup):
    # 16 pairs, batches of 4 in groups of 4 of one dataset (8 + 8 rows): 4 batches per epoch
    summary = run(config(setup, "epochs", "train.steps=null", "train.epochs=0.5"))
    assert summary["steps"] == 2 and [r["step"] for r in rows(setup, "epochs")] == [1, 2]


def test_every_backbone_lowers_the_loss_in_a_few_steps(backbone_dir, sft_writer, tmp_path):
    data = sft_writer(tmp_path / "data", 8)
    run(load_config(SFTConfig, REPO / "configs/sft/tiny.yaml", [
        f"model.base={backbone_dir}", f"data.train_file={data}", f"train.output_dir={tmp_path / 'run'}",
        "train.progress_bar=false", "train.plot=false", "train.save_every=0", "train.steps=8",
        "optim.lr=3e-3", "optim.warmup_ratio=0"]))
    r = read_metrics(tmp_path / "run" / "metrics.jsonl")
    assert len(r) == 8 and sum(x["loss"] for x in r[-2:]) < sum(x["loss"] for x in r[:2])
    trained = UMEModel.from_pretrained(tmp_path / "run" / "final")
    assert trained.backbone.model_type == trained.hf_model.config.model_type
    assert trained.settings.prompt_format == UMEModel.from_pretrained(backbone_dir).settings.prompt_format
