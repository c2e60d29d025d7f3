"""Disc and gen embeddings read exactly where the spec says, on the real code path."""
from pathlib import Path
import numpy as np
import pytest
import torch
from PIL import Image

from umer1 import InputError, UMEModel
from umer1.engine.positions import disc_positions, gather, gen_positions, normalize
from umer1.engine.params import GenParams
from umer1.engine.inputs import as_input


def _mixed_inputs():
    red = Image.new("RGB", (60, 40), (255, 0, 0))
    blue = Image.new("RGB", (30, 50), (0, 0, 255))
    frames = [Image.new("RGB", (56, 56), (0, 30 * i, 0)) for i in range(8)]
    return ["a text-only input", {"text": "an image", "image": [red]},
            {"text": "a video", "video": frames}, {"text": "two images", "image": [red, blue]}]


def _chatty(model_dir) -> UMEModel:
    """A tiny model with its <gen_emb> row nudged so sampling emits it after a few tokens
    (a random model almost never would): rows with and without <gen_emb> in one batch."""
    m = UMEModel.from_pretrained(model_dir)
    batch = m.batch([as_input(x) for x in _mixed_inputs()])
    with torch.no_grad():
        h = m.last_hidden_state(batch)[batch["attention_mask"].bool()].mean(0)
        m.hf_model.get_input_embeddings().weight[m.ids.gen] = 0.3 * h / h.norm()
    return m


@pytest.fixture(scope="module")
def chatty_model(tiny_model_dir):
    return _chatty(tiny_model_dir)


def test_disc_equals_state_at_disc_token_of_a_plain_forward(backbone_dir):
    tiny_model = UMEModel.from_pretrained(backbone_dir)
    items = [as_input(x) for x in _mixed_inputs()]
    emb = tiny_model.encode(items, mode="disc", batch_size=2)
    assert emb.dtype == np.float32 and emb.shape == (4, tiny_model.hidden_size)
    for i, item in enumerate(items):  # one at a time, through the full model with all layers
        batch = tiny_model.batch([item])
        with torch.no_grad():
            out = tiny_model.hf_model(**batch, output_hidden_states=True)
        state = gather(out.hidden_states[-1], disc_positions(batch["input_ids"], tiny_model.ids.disc))
        np.testing.assert_allclose(emb[i], normalize(state)[0].numpy(), atol=1e-5)


def test_gen_captured_during_generation_equals_teacher_forced_state(backbone_dir):
    m = _chatty(backbone_dir)
    batch = m.batch([as_input(x) for x in _mixed_inputs()])
    for seed in range(50):  # the first seed whose batch mixes rows with and without <gen_emb>
        torch.manual_seed(seed)
        g = m.generate_batch(batch, GenParams(max_new_tokens=10, temperature=1.0), force_gen_emb=False)
        if g.found.any() and not g.found.all():
            break
    assert g.found.any() and not g.found.all(), "want rows with and without <gen_emb>"
    prompt_len = batch["input_ids"].shape[1]
    new = g.sequences.shape[1] - prompt_len
    tf = dict(batch)
    tf["input_ids"] = g.sequences
    tf["attention_mask"] = torch.cat([batch["attention_mask"], torch.ones(4, new, dtype=torch.long)], 1)
    tf["mm_token_type_ids"] = torch.cat([batch["mm_token_type_ids"],
                                         torch.zeros(4, new, dtype=torch.long)], 1)
    with torch.no_grad():
        hidden = m.last_hidden_state(tf)
    pos = gen_positions(g.sequences, m.ids.gen, prompt_len)
    # rule for missing rows: the state at the last token fed back (the one before the stop)
    fallback = prompt_len + g.num_new_tokens - 2
    pos = torch.where(g.found, pos, fallback)
    assert not (g.new_tokens[:, :, None] == torch.tensor(m.ids.vision)).any(), "vision token sampled"
    torch.testing.assert_close(g.states, gather(hidden, pos), atol=1e-4, rtol=1e-4)
    # the disc states come from the same prefill
    torch.testing.assert_close(g.disc_states, gather(hidden, disc_positions(g.sequences, m.ids.disc)),
                               atol=1e-4, rtol=1e-4)


def test_greedy_gen_is_deterministic_and_reports_texts(chatty_model):
    a = chatty_model.generate(_mixed_inputs(), max_new_tokens=12, batch_size=3)
    b = chatty_model.generate(_mixed_inputs(), max_new_tokens=12, batch_size=2)
    np.testing.assert_allclose(a.embeddings, b.embeddings, atol=1e-5)
    assert a.texts == b.texts and len(a.texts) == 4
    assert np.allclose(np.linalg.norm(a.embeddings, axis=1), 1, atol=1e-5)
    for text in a.texts:  # written by the model or, at the end of the budget, forced
        assert "<gen_emb>" in text


def test_sampling_gives_k_embeddings_per_input_and_is_seeded(chatty_model):
    kw = dict(max_new_tokens=8, temperature=1.0, num_samples=3, seed=11)
    a = chatty_model.generate(_mixed_inputs()[:2], **kw)
    b = chatty_model.generate(_mixed_inputs()[:2], **kw)
    assert a.embeddings.shape == (2, 3, chatty_model.hidden_size) and len(a.texts[0]) == 3
    np.testing.assert_array_equal(a.embeddings, b.embeddings)
    with pytest.raises(InputError, match="temperature"):
        chatty_model.generate(["x"], num_samples=2)


def test_every_backbone_embeds_both_modes(backbone_dir):
    m = UMEModel.from_pretrained(backbone_dir)
    assert m.backbone.model_type == m.hf_model.config.model_type
    assert m.encode(_mixed_inputs(), mode="disc").shape == (4, 64)
    assert m.encode(_mixed_inputs()[:2], mode="gen", max_new_tokens=4).shape == (2, 64)


def test_real_tokenizer_model_loads_with_released_ids(tiny_qwen_tok_dir):
    m = UMEModel.from_pretrained(tiny_qwen_tok_dir)
    assert (m.ids.gen, m.ids.disc) == (151657, 151658)
    assert m.encode(["hello"], mode="disc").shape == (1, 64)


def test_dtype_and_blank_image_switch(tiny_model_dir):
    m = UMEModel.from_pretrained(tiny_model_dir, dtype="bfloat16", blank_image_for_text=False)
    assert m.hf_model.dtype == torch.bfloat16
    emb = m.encode(["text only, no image"])
    assert emb.dtype == np.float32 and np.isfinite(emb).all()


def test_model_without_embedding_tokens_is_refused_or_extended(tmp_path, tiny_model_dir):
    from transformers import AutoProcessor
    from umer1.engine.vocab import compact_tokenizer
    m = UMEModel.from_pretrained(tiny_model_dir)
    base = tmp_path / "base"
    m.hf_model.save_pretrained(base)
    proc = AutoProcessor.from_pretrained(tiny_model_dir)
    proc.tokenizer = compact_tokenizer()  # no <gen_emb> / <disc_emb>
    proc.save_pretrained(base)
    with pytest.raises(InputError, match="no <gen_emb> / <disc_emb>"):
        UMEModel.from_pretrained(base)
    ext = UMEModel.from_pretrained(base, add_missing_tokens=True)
    assert ext.encode(["x"]).shape == (1, 64)


def test_peft_adapter_round_trip(tmp_path, tiny_model_dir):
    from peft import LoraConfig, get_peft_model
    m = UMEModel.from_pretrained(tiny_model_dir)
    lora = get_peft_model(m.hf_model, LoraConfig(r=4, target_modules=["q_proj", "v_proj"],
                                                 init_lora_weights=False))
    lora.peft_config["default"].base_model_name_or_path = str(tiny_model_dir)
    lora.save_pretrained(tmp_path / "adapter")
    plain = UMEModel.from_pretrained(tiny_model_dir).encode(["a dog"])
    adapted = UMEModel.from_pretrained(tiny_model_dir, adapter=tmp_path / "adapter").encode(["a dog"])
    by_dir = UMEModel.from_pretrained(tmp_path / "adapter").encode(["a dog"])
    assert not np.allclose(plain, adapted, atol=1e-4)
    np.testing.assert_allclose(adapted, by_dir, atol=1e-6)


def test_budget_end_forces_gen_emb_and_reads_it_there(chatty_model):
    m = chatty_model
    batch = m.batch([as_input(x) for x in _mixed_inputs()])
    for seed in range(50):
        torch.manual_seed(seed)
        g = m.generate_batch(batch, GenParams(max_new_tokens=6, temperature=1.0), want_disc=False)
        if g.found.any() and not g.found.all():
            break
    assert g.found.any() and not g.found.all()
    prompt_len = batch["input_ids"].shape[1]
    pos = gen_positions(g.sequences, m.ids.gen, prompt_len)
    assert (pos >= 0).all(), "every row ends its budget on <gen_emb>"
    assert (pos[~g.found] == prompt_len + 5).all(), "forced as the last budgeted token"
    new = g.sequences.shape[1] - prompt_len
    tf = dict(batch, input_ids=g.sequences,
              attention_mask=torch.cat([batch["attention_mask"], torch.ones(4, new, dtype=torch.long)], 1),
              mm_token_type_ids=torch.cat([batch["mm_token_type_ids"],
                                           torch.zeros(4, new, dtype=torch.long)], 1))
    with torch.no_grad():
        hidden = m.last_hidden_state(tf)
    torch.testing.assert_close(g.states, gather(hidden, pos), atol=1e-4, rtol=1e-4)


def test_frame_folders_list_in_natural_order_and_sample_first_to_last(tmp_path):
    from PIL import Image as PILImage

    from umer1.engine.inputs import frame_files, sample_frames
    for i in (1, 2, 10, 11, 3):
        PILImage.new("RGB", (8, 8)).save(tmp_path / f"frame_{i}.png")
    names = [Path(f).name for f in frame_files(tmp_path)]
    assert names == ["frame_1.png", "frame_2.png", "frame_3.png", "frame_10.png", "frame_11.png"]
    frames = list(range(20))
    assert sample_frames(frames, 8) == [0, 2, 5, 8, 10, 13, 16, 19]   # linspace(0, 19, 8), floored
    assert sample_frames(frames[:5], 8) == frames[:5]


# ----- loading errors: one InputError, before any weights are read -------------------------
def _copy_model(src, dst, drop=()):
    import shutil
    shutil.copytree(src, dst)
    for name in drop:
        (dst / name).unlink()
    return dst


def test_bad_dtype_and_missing_gpu_are_input_errors(tiny_model_dir):
    with pytest.raises(InputError, match="field 'dtype': unknown dtype 'int8'"):
        UMEModel.from_pretrained(tiny_model_dir, dtype="int8")
    with pytest.raises(InputError, match="field 'device': not a device"):
        UMEModel.from_pretrained(tiny_model_dir, device="gpu0")
    if not torch.cuda.is_available():
        with pytest.raises(InputError, match="CUDA is not available"):
            UMEModel.from_pretrained(tiny_model_dir, device="cuda")


def test_missing_and_truncated_weights_name_the_folder(tiny_model_dir, tmp_path):
    none = _copy_model(tiny_model_dir, tmp_path / "none", drop=["model.safetensors"])
    with pytest.raises(InputError, match=f"{none}: cannot load the weights"):
        UMEModel.from_pretrained(none)
    cut = _copy_model(tiny_model_dir, tmp_path / "cut")
    data = (cut / "model.safetensors").read_bytes()
    (cut / "model.safetensors").write_bytes(data[:len(data) // 2])
    with pytest.raises(InputError, match=f"{cut}: cannot load the weights"):
        UMEModel.from_pretrained(cut)


def test_local_looking_paths_fail_at_once(tmp_path, monkeypatch):
    import time
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    (tmp_path / "empty").mkdir()
    t0 = time.monotonic()
    for name in ("runs/ckpt", "./ckpt", str(tmp_path / "a" / "b"), "a/b/c"):
        with pytest.raises(InputError, match="no such model folder"):
            UMEModel.from_pretrained(name)
    with pytest.raises(InputError, match="no config.json in this folder"):
        UMEModel.from_pretrained("empty")
    assert time.monotonic() - t0 < 5        # no hub was asked


def test_folder_without_tokenizer_files_says_so(tiny_model_dir, tmp_path):
    d = _copy_model(tiny_model_dir, tmp_path / "notok", drop=["tokenizer.json", "tokenizer_config.json"])
    with pytest.raises(InputError, match="no tokenizer files") as e:
        UMEModel.from_pretrained(d)
    assert "not a UME model" not in str(e.value)
