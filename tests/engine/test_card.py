"""Model cards: written with every tiny model, parsed back by huggingface_hub (what a hub reads),
rewritten with an evaluation's scores without losing the provenance."""
import json

import pytest
from huggingface_hub import ModelCard

from umer1.cli import main
from umer1.engine.card import Provenance, read_provenance, write_card
from umer1.engine.tiny import make_tiny_model
from umer1.utils.errors import InputError


@pytest.fixture
def model_dir(tmp_path):
    return make_tiny_model(tmp_path / "tiny", seed=3, hidden_size=32, num_heads=2, num_kv_heads=1)


def test_a_tiny_model_has_a_card_a_hub_can_read(model_dir):
    card = ModelCard.load(model_dir / "README.md")
    meta = card.data.to_dict()
    assert meta["library_name"] == "transformers" and meta["pipeline_tag"] == "feature-extraction"
    assert {"umer1", "tiny-model"} <= set(meta["tags"])
    assert meta["umer1"]["stage"] == "tiny-model" and meta["umer1"]["options"]["seed"] == 3
    vocab = json.loads((model_dir / "tokenizer.json").read_text())["added_tokens"]
    ids = {t["content"]: t["id"] for t in vocab}
    assert f"`<disc_emb>`, id {ids['<disc_emb>']}" in card.text
    assert f"`<gen_emb>`, id {ids['<gen_emb>']}" in card.text
    assert "| embedding dimension | 32 |" in card.text
    assert "compare queries and candidates in the same mode" in card.text   # spaces not aligned
    assert "hidden_size: 32" in card.text                                    # how it was made


def test_base_model_metadata_only_for_a_hub_id(model_dir, tmp_path):
    write_card(model_dir, Provenance(stage="sft", base_model="zhibinlan/UME-R1-2B", step=7))
    assert ModelCard.load(model_dir / "README.md").data.base_model == "zhibinlan/UME-R1-2B"
    write_card(model_dir, Provenance(stage="sft", base_model=str(tmp_path / "local"), step=7))
    card = ModelCard.load(model_dir / "README.md")
    assert card.data.base_model is None and str(tmp_path / "local") in card.text


def _eval_output(root):
    (root / "disc").mkdir(parents=True)
    agg = {"overall": 0.5, "modality": {"image": 0.25, "video": 0.75},
           "meta_task": {}, "num_tasks": {"overall": 2, "image": 1, "video": 1}}
    (root / "summary.json").write_text(json.dumps({"modes": {"disc": agg, "gen": dict(agg, overall=0.625)}}))
    (root / "run_config.json").write_text(json.dumps({"tasks": ["A", "B"], "registry": ["x/tasks.yaml"]}))
    return root


def test_card_command_adds_scores_and_keeps_provenance(model_dir, tmp_path, capsys):
    write_card(model_dir, Provenance(stage="rl", base_model="/runs/sft/final", step=12,
                                     data={"rl.jsonl": "0" * 64}))
    assert main(["card", str(model_dir), "--eval", str(_eval_output(tmp_path / "eval"))]) == 0
    card = ModelCard.load(model_dir / "README.md")
    results = {r.metric_name: r.metric_value for r in card.data.eval_results}
    assert results == {"disc overall": 50.0, "disc image": 25.0, "disc video": 75.0,
                       "gen overall": 62.5, "gen image": 25.0, "gen video": 75.0}
    assert card.data.eval_results[0].dataset_name == "tasks.yaml (2 tasks)"
    assert "| gen | 62.5 | image 25.0, video 75.0 | 2 |" in card.text
    prov = read_provenance(model_dir)
    assert (prov.stage, prov.step, prov.data) == ("rl", 12, {"rl.jsonl": "0" * 64})
    # Rewritten without --eval (another name), the card keeps its scores.
    before = card.data.eval_results
    assert main(["card", str(model_dir), "--name", "renamed"]) == 0
    card = ModelCard.load(model_dir / "README.md")
    assert card.data.eval_results == before and "# renamed" in card.text
    assert "| gen | 62.5 | image 25.0, video 75.0 | 2 |" in card.text


def test_bad_folders_are_one_line_errors(model_dir, tmp_path, capsys):
    assert main(["card", str(tmp_path)]) == 2
    assert "not a model folder" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="not an `umer1 eval` output folder"):
        write_card(model_dir, eval_dir=tmp_path / "empty")
    assert ModelCard.load(model_dir / "README.md").data.to_dict()["umer1"]["stage"] == "tiny-model"


def test_an_adapter_folder_is_carded_as_peft(model_dir, tmp_path):
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForImageTextToText
    base = AutoModelForImageTextToText.from_pretrained(model_dir)
    adapter = tmp_path / "adapter"
    get_peft_model(base, LoraConfig(r=2, target_modules=["q_proj"])).save_pretrained(adapter)
    write_card(adapter, Provenance(stage="sft", base_model=str(model_dir), step=1))
    card = ModelCard.load(adapter / "README.md")
    assert card.data.library_name == "peft" and "| format | PEFT adapter |" in card.text
