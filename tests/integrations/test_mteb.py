"""The mteb encoder protocol adapter, called the way mteb 1.x and 2.x call an encoder."""
from __future__ import annotations

import numpy as np
import pytest
from torch.utils.data import DataLoader

from umer1 import EmbedInput
from umer1.integrations.mteb import HAVE_MTEB, MTEBEncoder
from tests.serve.util import color_image


def test_v1_sentences_with_instructions(tiny_model):
    enc = MTEBEncoder(tiny_model, instructions={("Banking77", "query"): "Classify: {text}",
                                                "Banking77": "Represent the text"})
    got = enc.encode(["hello", "card lost"], task_name="Banking77", prompt_type="query")
    np.testing.assert_allclose(got, tiny_model.encode(["Classify: hello", "Classify: card lost"]),
                               atol=1e-5)
    got = enc.encode(["hello"], task_name="Banking77", prompt_type="document")
    np.testing.assert_allclose(got, tiny_model.encode(["Represent the text hello"]), atol=1e-5)
    np.testing.assert_allclose(enc.encode(["hello"], task_name="Other"),
                               tiny_model.encode(["hello"]), atol=1e-5)


def test_v2_dataloader_batches_with_images(tiny_model):
    rows = [{"text": "a red square", "image": color_image(5)}, {"text": "just text"},
            {"text": "", "image": color_image(6)}]

    def collate(batch):   # mteb 2.x hands encoders batches of column lists
        return {"text": [r.get("text", "") for r in batch], "image": [r.get("image") for r in batch]}
    loader = DataLoader(rows, batch_size=2, collate_fn=collate)

    class Meta:
        name = "ImageTask"
    got = MTEBEncoder(tiny_model).encode(loader, task_metadata=Meta(), hf_split="test",
                                         hf_subset="default", prompt_type=None)
    want = tiny_model.encode([EmbedInput("a red square", [rows[0]["image"]]), "just text",
                              EmbedInput(images=[rows[2]["image"]])])
    np.testing.assert_allclose(got, want, atol=1e-5)
    sim = MTEBEncoder.similarity(got, got)
    np.testing.assert_allclose(np.diag(sim), 1.0, atol=1e-5)
    np.testing.assert_allclose(MTEBEncoder.similarity_pairwise(got, got), 1.0, atol=1e-5)


def test_model_meta_needs_mteb(tiny_model):
    if HAVE_MTEB:
        pytest.skip("mteb is installed")
    with pytest.raises(ImportError, match="pip install mteb"):
        MTEBEncoder(tiny_model).model_meta()
