"""The mteb adapter's own behaviour: batches to inputs, instructions, modes, the import guard.
(mteb itself runs the adapter in test_mteb_evaluate.py.)"""
from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image
from torch.utils.data import DataLoader

import umer1.integrations.mteb as adapter
from umer1 import EmbedInput, InputError
from umer1.engine.params import GenParams
from umer1.integrations.mteb import MTEBEncoder, batch_inputs


def square(shade: int) -> Image.Image:
    return Image.new("RGB", (32, 32), (shade, 255 - shade, 40))


def test_instructions_follow_mteb_key_order(tiny_model):
    enc = MTEBEncoder(tiny_model, instructions={"Banking77-query": "Classify: {text}",
                                                "Banking77": "Represent the text",
                                                "Retrieval-document": "Passage:",
                                                "query": "Query:"})
    bank = SimpleNamespace(name="Banking77", type="Classification", prompt=None)
    other = SimpleNamespace(name="Other", type="Retrieval", prompt={"query": "Find it"})
    assert enc.instruction(bank, "query") == "Classify: {text}"
    assert enc.instruction(bank, "document") == "Represent the text"
    assert enc.instruction(other, "document") == "Passage:"
    assert enc.instruction(other, "query") == "Query:"
    assert enc.instruction(other, None) is None
    got = enc.encode(["hello", "card lost"], task_metadata=bank, prompt_type="query")
    np.testing.assert_allclose(got, tiny_model.encode(["Classify: hello", "Classify: card lost"]),
                               atol=1e-5)
    got = enc.encode(["hello"], task_metadata=bank, prompt_type="document")
    np.testing.assert_allclose(got, tiny_model.encode(["Represent the text hello"]), atol=1e-5)
    # the task's own prompt, only when asked for and only where no key of ours matches
    plain = MTEBEncoder(tiny_model, task_prompts=True)
    assert plain.instruction(other, "query") == "Find it"
    assert plain.instruction(other, "document") is None
    assert MTEBEncoder(tiny_model).instruction(other, "query") is None


def test_dataloader_batches_text_image_and_both(tiny_model):
    rows = [{"text": "a red square", "image": square(5)}, {"text": "just text", "image": None},
            {"text": "", "image": [square(6), square(90)]}]

    def collate(batch):   # mteb's _custom_collate_fn: columns of lists, images left as objects
        return {"id": [str(i) for i in range(len(batch))], "text": [r["text"] for r in batch],
                "image": [r["image"] for r in batch]}
    loader = DataLoader(rows, batch_size=2, collate_fn=collate)
    want = tiny_model.encode([EmbedInput("a red square", [rows[0]["image"]]), "just text",
                              EmbedInput(images=rows[2]["image"])])
    for chunk_size in (1, 256):   # inputs gathered across mteb's batches or not: same vectors
        enc = MTEBEncoder(tiny_model, chunk_size=chunk_size)
        got = enc.encode(loader, task_metadata=None, hf_split="test", hf_subset="default")
        np.testing.assert_allclose(got, want, atol=1e-5)
    sim = enc.similarity(got, got)
    np.testing.assert_allclose(np.diag(sim.numpy()), 1.0, atol=1e-5)
    np.testing.assert_allclose(enc.similarity_pairwise(got, got).numpy(), 1.0, atol=1e-5)
    assert enc.encode([], task_metadata=None).shape == (0, tiny_model.hidden_size)


def test_image_only_batches_and_refused_columns():
    items = batch_inputs({"id": ["a", "b"], "image": [square(1), square(2)]})
    assert [(it.text, len(it.images)) for it in items] == [("", 1), ("", 1)]
    with pytest.raises(InputError, match="video inputs; .* maps only text and image"):
        batch_inputs({"text": ["x"], "video": [object()]})
    with pytest.raises(InputError, match="field 'text': must be a string"):
        batch_inputs({"text": [["a", "b"]]})
    with pytest.raises(InputError, match="without text or image"):
        batch_inputs({"id": ["a"], "label": [1]})


def test_gen_mode_takes_explicit_params(tiny_model):
    with pytest.raises(InputError, match="gen=GenParams"):
        MTEBEncoder(tiny_model, mode="gen")
    with pytest.raises(InputError, match="num_samples=1"):
        MTEBEncoder(tiny_model, mode="gen",
                    gen=GenParams(max_new_tokens=4, temperature=0.7, num_samples=2, seed=1))
    with pytest.raises(InputError, match="mteb prompt keys to strings"):
        MTEBEncoder(tiny_model, instructions={("Task", "query"): "x"})
    gen = GenParams(max_new_tokens=6, temperature=0.0, top_p=1.0, top_k=0, seed=None)
    enc = MTEBEncoder(tiny_model, mode="gen", gen=gen, batch_size=2)
    got = enc.encode([{"text": "a square", "image": square(3)}, "text only"], task_metadata=None)
    np.testing.assert_allclose(got, tiny_model.encode([EmbedInput("a square", [square(3)]), "text only"],
                                                      mode="gen", params=gen), atol=1e-5)


def test_works_without_mteb(tiny_model, monkeypatch):
    """mteb is imported only inside the functions that make a ModelMeta."""
    tree = ast.parse(Path(adapter.__file__).read_text())
    top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    assert not [n for n in top if "mteb" in ast.unparse(n).replace("umer1.integrations.mteb", "")]
    monkeypatch.setattr(adapter, "HAVE_MTEB", False)
    enc = MTEBEncoder(tiny_model)
    assert enc.mteb_model_meta is None
    assert enc.encode(["hello"], task_metadata=None).shape == (1, tiny_model.hidden_size)
    with pytest.raises(ImportError, match=r"pip install 'umer1\[mteb\]'"):
        adapter.model_meta(tiny_model)
