"""mteb itself runs the adapter: `mteb.evaluate` on small tasks defined here from in-memory
data (mteb's retrieval and zero-shot classification task classes, no download), disc and gen
mode, and `ModelMeta.load_model` through the adapter's loader. The tiny random model scores
near chance: the tests check that mteb ran, wrote its files and got numbers in range."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from PIL import Image

mteb = pytest.importorskip("mteb")
# a random model predicts some labels never: sklearn warns that their precision is 0
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.UndefinedMetricWarning")

from datasets import Dataset  # noqa: E402  (installed with mteb)
from mteb.abstasks.retrieval import AbsTaskRetrieval  # noqa: E402
from mteb.abstasks.retrieval_dataset_loaders import RetrievalSplitData  # noqa: E402
from mteb.abstasks.task_metadata import TaskMetadata  # noqa: E402
from mteb.abstasks.zeroshot_classification import AbsTaskZeroShotClassification  # noqa: E402

from umer1 import InputError, UMEModel  # noqa: E402
from umer1.engine.params import GenParams  # noqa: E402
from umer1.engine.tiny import make_tiny_model  # noqa: E402
from umer1.integrations.mteb import MTEBEncoder, model_meta  # noqa: E402

COLORS = {"red": (220, 30, 30), "green": (30, 200, 40), "blue": (30, 40, 210)}
GEN = GenParams(max_new_tokens=4, temperature=0.0, top_p=1.0, top_k=0, num_samples=1, seed=None)


def _meta(name: str, **kw) -> TaskMetadata:
    return TaskMetadata(name=name, description="A small in-memory task for umer1's tests.",
                        dataset={"path": "umer1/in-memory", "revision": "1"}, eval_splits=["test"],
                        eval_langs=["eng-Latn"], **kw)


def _image(color: str, size: int = 32) -> Image.Image:
    return Image.new("RGB", (size, size), COLORS[color])


class _InMemory:
    """load_data builds the split from `rows()` instead of downloading a dataset."""

    def load_data(self, num_proc=None, **kwargs) -> None:
        if not self.data_loaded:
            self.dataset = self.rows()
            self.data_loaded = True


class TinyTextRetrieval(_InMemory, AbsTaskRetrieval):
    metadata = _meta("UMER1TinyTextRetrieval", type="Retrieval", category="t2t",
                     modalities=["text"], main_score="ndcg_at_10")

    def rows(self):
        docs = {"d1": "red apples grow on trees", "d2": "the sea is blue and deep",
                "d3": "green grass in spring"}
        queries = {"q1": "what colour are apples", "q2": "tell me about the ocean"}
        return {"default": {"test": RetrievalSplitData(
            corpus=Dataset.from_dict({"id": list(docs), "text": list(docs.values()),
                                      "title": ["fruit", "", "garden"]}),
            queries=Dataset.from_dict({"id": list(queries), "text": list(queries.values())}),
            relevant_docs={"q1": {"d1": 1}, "q2": {"d2": 1}}, top_ranked=None)}}


class TinyImageRetrieval(_InMemory, AbsTaskRetrieval):
    """Text+image queries against image documents (mteb's Any2AnyRetrieval, category it2i)."""
    metadata = _meta("UMER1TinyImageRetrieval", type="Any2AnyRetrieval", category="it2i",
                     modalities=["text", "image"], main_score="ndcg_at_10")

    def rows(self):
        return {"default": {"test": RetrievalSplitData(
            corpus=Dataset.from_dict({"id": list(COLORS),
                                      "image": [_image(c, 40) for c in COLORS]}),
            queries=Dataset.from_dict({"id": ["q-red", "q-blue"],
                                       "text": ["the same colour", "this colour, larger"],
                                       "image": [_image("red"), _image("blue")]}),
            relevant_docs={"q-red": {"red": 1}, "q-blue": {"blue": 1}}, top_ranked=None)}}


class TinyColorZeroShot(_InMemory, AbsTaskZeroShotClassification):
    """Images against text labels (mteb's image zero-shot classification, category i2t)."""
    metadata = _meta("UMER1TinyColorZeroShot", type="ZeroShotClassification", category="i2t",
                     modalities=["text", "image"], main_score="accuracy")

    def rows(self):
        colors = ["red", "green", "blue", "red"]
        return {"test": Dataset.from_dict({"image": [_image(c, 24 + 8 * i) for i, c in enumerate(colors)],
                                           "label": [list(COLORS).index(c) for c in colors]})}

    def get_candidate_labels(self) -> list[str]:
        return [f"a photo of the colour {c}." for c in COLORS]


TASKS = (TinyTextRetrieval, TinyImageRetrieval, TinyColorZeroShot)


def _run(encoder, tmp_path, tasks=TASKS, **kw):
    cache = mteb.ResultCache(tmp_path / "results")
    result = mteb.evaluate(encoder, [t() for t in tasks], cache=cache, co2_tracker=False,
                           show_progress_bar=False, encode_kwargs={"batch_size": 4}, **kw)
    return cache, result


def _check_written(cache, meta, result, tasks):
    assert {r.task_name for r in result.task_results} == {t.metadata.name for t in tasks}
    for r in result.task_results:
        path = cache.get_task_result_path(task_name=r.task_name, model_name=meta)
        saved = json.loads(path.read_text())
        score = saved["scores"]["test"][0]["main_score"]
        assert 0.0 <= score <= 1.0 and score == pytest.approx(r.get_score())
    written = json.loads((path.parent / "model_meta.json").read_text())
    assert written["name"] == meta.name and written["embed_dim"] == meta.embed_dim
    assert written["modalities"] == ["text", "image"]
    return path.parent


def test_evaluate_disc_mode(tiny_model, tmp_path):
    enc = MTEBEncoder(tiny_model, mode="disc")
    assert isinstance(enc, mteb.EncoderProtocol)
    cache, result = _run(enc, tmp_path)
    folder = _check_written(cache, enc.mteb_model_meta, result, TASKS)
    # results/<name>/<revision>/experiments/<experiment>/: umer1__<folder>/<fingerprint>/.../mode_disc
    assert folder.name == "mode_disc" and folder.parent.name == "experiments"
    assert folder.parent.parent.name == enc.mteb_model_meta.revision
    assert folder.parent.parent.parent.name == "umer1__" + tiny_model.name.rstrip("/").split("/")[-1]


def test_evaluate_gen_mode_through_the_embedding_cache(tiny_model, tmp_path):
    tasks = (TinyImageRetrieval, TinyColorZeroShot)
    enc = MTEBEncoder(tiny_model, mode="gen", gen=GEN, cache_dir=tmp_path / "embeddings")
    cache, result = _run(enc, tmp_path, tasks)
    folder = _check_written(cache, enc.mteb_model_meta, result, tasks)
    assert folder.name == "max_new_tokens_4__mode_gen"   # its own folder: never a disc result
    # 2 queries + 3 documents + 3 labels + 4 images, embedded once per content: the 40 px blue
    # square is both a document and a zero-shot image, so 11
    assert enc.embedder.embedded == 11
    texts = enc.embedder.texts(_label_inputs(), enc.spec)
    assert all(isinstance(t, str) for t in texts)   # the gen reasoning is kept with the vectors
    _, result2 = _run(enc, tmp_path, tasks, overwrite_strategy="always")
    assert enc.embedder.embedded == 11               # a rerun is served from the cache
    assert [r.get_score() for r in result2.task_results] == [r.get_score() for r in result.task_results]


def _label_inputs():
    from umer1 import EmbedInput
    return [EmbedInput(text=t) for t in TinyColorZeroShot().get_candidate_labels()]


def test_model_meta_fields_and_load_model(tiny_model_dir, tmp_path):
    ckpt = tmp_path / "ckpt"
    shutil.copytree(tiny_model_dir, ckpt)
    model = UMEModel.from_pretrained(ckpt)
    meta = model_meta(model, mode="gen", gen=GEN, instructions={"query": "Find:"})
    assert meta.name == "umer1/ckpt" and meta.embed_dim == model.hidden_size
    assert meta.modalities == ["text", "image"] and "PyTorch" in meta.framework
    assert meta.similarity_fn_name == mteb.models.model_meta.ScoringFunction.COSINE
    assert meta.n_parameters == sum(p.numel() for p in model.hf_model.parameters())
    assert meta.release_date is not None and meta.max_tokens == model.max_text_tokens
    assert meta.experiment_kwargs == {"mode": "gen", "max_new_tokens": 4,
                                      "instructions": {"query": "Find:"}}
    loaded = meta.load_model()
    assert isinstance(loaded, MTEBEncoder) and loaded.mteb_model_meta.name == meta.name
    assert loaded.spec == MTEBEncoder(model, mode="gen", gen=GEN).spec
    assert loaded.instructions == {"query": "Find:"}
    got = loaded.encode(["one", "two words"], prompt_type=mteb.types.PromptType.query)
    want = model.encode(["Find: one", "Find: two words"], mode="gen", params=GEN)
    np.testing.assert_allclose(got, want, atol=1e-5)
    # the meta names these weights: a checkpoint rewritten in place is refused, not evaluated
    shutil.rmtree(ckpt)
    make_tiny_model(ckpt, backbone="qwen2_vl", tokenizer="compact", seed=1)
    with pytest.raises(InputError, match="not the ones the ModelMeta describes"):
        meta.load_model()


def test_mteb_batches_map_to_the_inputs_mteb_means(tiny_model):
    """mteb's own dataloader (create_dataloader) for text+image queries and image documents."""
    from mteb._create_dataloaders import create_dataloader
    from mteb.types import PromptType
    task = TinyImageRetrieval()
    task.load_data()
    split = task.dataset["default"]["test"]
    enc = MTEBEncoder(tiny_model, instructions={"Any2AnyRetrieval-query": "Find an image:"})
    for side, data, want in (
            (PromptType.query, split["queries"],
             [{"text": f"Find an image: {r['text']}", "image": r["image"]} for r in split["queries"]]),
            (PromptType.document, split["corpus"], [r["image"] for r in split["corpus"]])):
        loader = create_dataloader(data, task_metadata=task.metadata, prompt_type=side, batch_size=2)
        got = enc.encode(loader, task_metadata=task.metadata, hf_split="test", hf_subset="default",
                         prompt_type=side)
        np.testing.assert_allclose(got, tiny_model.encode(want), atol=1e-5)


def test_a_checkpoint_mteb_lists_keeps_mtebs_facts(tiny_model):
    """Licence, languages, release date and training data of a checkpoint mteb lists come from
    mteb's own entry (mteb/models/model_implementations/ume_r1.py); the rest from the model."""
    named = UMEModel(tiny_model.model, tiny_model.processor, tiny_model.backbone,
                     tiny_model.settings, name="zhibinlan/UME-R1-2B")
    meta = model_meta(named)
    listed = mteb.get_model_meta("zhibinlan/UME-R1-2B")
    assert meta.name == listed.name and meta.release_date == listed.release_date
    assert meta.license == listed.license and meta.languages == listed.languages
    assert meta.training_datasets == listed.training_datasets
    assert meta.embed_dim == tiny_model.hidden_size      # not the 2B's 1536: these weights
    assert meta.loader_kwargs["source"] == "zhibinlan/UME-R1-2B"
