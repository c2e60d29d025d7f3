import json
import shutil

import pytest
import torch

from tests.train.rl_helpers import completion_ids, prime_tiny_model, write_rl_data
from umer1.cli import main
from umer1.utils.config import from_dict
from umer1.data.rl import read_rl_pairs
from umer1.engine.inputs import EmbedInput
from umer1.train.rl import RLConfig, RLTrainer
from umer1.train.rl.grpo import grpo_loss, k3_kl
from umer1.train.rl.rollouts import repeat_rows
from umer1.utils.errors import InputError
from umer1.utils.plots import read_metrics


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    # Tiny models gain nothing from threads, and on a shared 2-core machine two threads
    # per process make every step many times slower.
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def primed_dir(tiny_model_dir, tmp_path_factory):
    return prime_tiny_model(tiny_model_dir, tmp_path_factory.mktemp("rl_primed"), steps=60)


def _cfg(model_dir, data, out, **over):
    raw = {"model": {"base": str(model_dir)}, "data": {"train_file": str(data), "pairs_per_device": 2},
           "rollout": {"num_generations": 2, "max_completion_length": 12},
           "optim": {"lr": 1e-3}, "grpo": {"beta": 0.04},
           "train": {"output_dir": str(out), "steps": 2, "cpu": True, "save_every": 1, "plot": False}}
    for key, value in over.items():
        section, name = key.split("__")
        raw.setdefault(section, {})[name] = value
    return from_dict(RLConfig, raw)


# ----- the loss ------------------------------------------------------------------------------
def test_k3_kl_is_zero_at_equality_and_positive_otherwise():
    lp = torch.log(torch.tensor([[0.2, 0.5, 0.9]]))
    assert torch.equal(k3_kl(lp, lp), torch.zeros_like(lp))
    other = torch.log(torch.tensor([[0.3, 0.4, 0.8]]))
    kl = k3_kl(lp, other)
    assert bool((kl > 0).all())
    d = other - lp
    assert torch.allclose(kl, torch.exp(d) - d - 1)


def test_grpo_loss_value_gradient_and_clipping():
    logp = torch.tensor([[0.0, -1.0, -2.0], [0.0, -0.5, -0.5]], requires_grad=True)
    mask = torch.tensor([[False, True, True], [False, True, False]])
    adv = torch.tensor([1.0, -2.0])
    loss, stats = grpo_loss(logp, logp.detach(), adv, mask, max_completion_length=4)
    # ratio 1: loss = -mean_rows(sum_t A * mask) / L = -((2 * 1) + (1 * -2)) / 2 / 4 = 0
    assert loss.item() == pytest.approx(0.0)
    loss.backward()
    expected = -(adv[:, None] * mask) / 4 / 2        # d/dlogp of -r A with r = exp(logp - old)
    assert torch.allclose(logp.grad, expected)
    assert stats["clip_fraction"] == 0.0
    # A ratio above 1 + 0.28 with a positive advantage is clipped: no gradient.
    lp2 = torch.zeros(1, 2, requires_grad=True)
    old = torch.full((1, 2), -0.5)                      # ratio e^0.5 = 1.65
    loss2, stats2 = grpo_loss(lp2, old, torch.tensor([1.0]), torch.ones(1, 2, dtype=torch.bool),
                              max_completion_length=2)
    loss2.backward()
    assert torch.equal(lp2.grad, torch.zeros(1, 2)) and stats2["clip_fraction"] == 1.0
    assert loss2.item() == pytest.approx(-1.28)
    # KL term with beta.
    lp3 = torch.tensor([[-1.0, -1.0]])
    loss3, stats3 = grpo_loss(lp3, lp3, torch.zeros(1), torch.ones(1, 2, dtype=torch.bool),
                              max_completion_length=2, beta=0.5, ref_logp=lp3 - 1)
    k = float(k3_kl(lp3, lp3 - 1)[0, 0])
    assert loss3.item() == pytest.approx(0.5 * k) and stats3["kl"] == pytest.approx(k)


def test_repeat_rows_copies_each_rows_visuals(tiny_model):
    from PIL import Image
    from umer1.engine.processing import load_prompt, processor_batch
    img = Image.new("RGB", (56, 84), (1, 2, 3))
    frames = [Image.new("RGB", (56, 56), (i * 40, 0, 0)) for i in range(4)]
    items = [EmbedInput(text="a", images=[img]), EmbedInput(text="b", video=frames),
             EmbedInput(text="c")]
    prompts = [load_prompt(it, tiny_model.settings) for it in items]
    batch = processor_batch(tiny_model.processor, prompts, tiny_model.settings)
    rep = repeat_rows(batch, [len(p.images) for p in prompts], [len(p.videos) for p in prompts], 3)
    assert rep["input_ids"].shape[0] == 9
    assert rep["video_grid_thw"].shape[0] == 3 and rep["image_grid_thw"].shape[0] == 6
    n0 = int(batch["image_grid_thw"][0].prod())
    assert torch.equal(rep["pixel_values"][:n0], batch["pixel_values"][:n0])
    assert torch.equal(rep["pixel_values"][n0:2 * n0], batch["pixel_values"][:n0])
    assert rep["pixel_values_videos"].shape[0] == 3 * batch["pixel_values_videos"].shape[0]
    # Every repeated row still runs through the model (image and video pads match their grids).
    with torch.no_grad():
        tiny_model.hf_model.model(**rep, use_cache=False)


# ----- the trainer ---------------------------------------------------------------------------
def _hand_rollouts(trainer, pairs, good_first=True):
    """Two hand-written completions per prompt: one in the format, one not."""
    tok, end = trainer.processor.tokenizer, trainer.ids.eos[0]
    good = completion_ids(tok, "<think>red</think><answer>red<gen_emb>", end)
    bad = completion_ids(tok, "dog dog dog", end)
    comps = [good, bad] * len(pairs) if good_first else [bad, good] * len(pairs)
    q = trainer.side_rollout([p.query for p in pairs], comps)
    t = trainer.side_rollout([p.target for p in pairs], list(comps))
    return q, t


def _seq_logprob(trainer, roll):
    with torch.no_grad():
        lp = trainer.wrapped(roll.batch, roll.score_mask).logprobs
    return (lp * roll.score_mask).sum(1)


def test_one_step_raises_the_better_completion(primed_dir, tmp_path):
    data = write_rl_data(tmp_path, rows=2)
    torch.manual_seed(0)
    trainer = RLTrainer(_cfg(primed_dir, data, tmp_path / "run"))
    pairs = trainer.pairs[:2]
    q, t = _hand_rollouts(trainer, pairs)
    assert q.batch["pixel_values"].shape[0] > 0                  # the image reaches the forward
    before_q, before_t = _seq_logprob(trainer, q), _seq_logprob(trainer, t)
    # The rewards the step will use (same forward, same gather).
    _, q_emb, q_valid = trainer.forward_side(q)
    _, t_emb, t_valid = trainer.forward_side(t)
    qr, tr, _ = trainer.rewards(q_emb, t_emb, q_valid, t_valid, q.texts, t.texts)
    trainer.optimizer.zero_grad()
    m = trainer.train_step(rollouts=[(q, t)])
    assert m["kl"] == pytest.approx(0.0, abs=1e-6)              # policy == reference before the update
    assert m["missing_gen_emb"] == 4 and m["format_rate"] == pytest.approx(0.5)
    after_q, after_t = _seq_logprob(trainer, q), _seq_logprob(trainer, t)
    for rewards, before, after in ((qr.total, before_q, after_q), (tr.total, before_t, after_t)):
        for g in range(2):
            hi, lo = (2 * g, 2 * g + 1) if rewards[g, 0] > rewards[g, 1] else (2 * g + 1, 2 * g)
            assert rewards.flatten()[hi] > rewards.flatten()[lo]
            assert (after[hi] - after[lo]) > (before[hi] - before[lo])


def test_scored_tokens_and_missing_gen_emb_rule(primed_dir, tmp_path):
    data = write_rl_data(tmp_path, rows=2)
    trainer = RLTrainer(_cfg(primed_dir, data, tmp_path / "run", grpo__beta=0.0))
    assert trainer.ref is None                                   # beta = 0 loads no reference model
    q, _ = _hand_rollouts(trainer, trainer.pairs[:1])
    tok = trainer.processor.tokenizer
    P = q.prompt_len
    good_len = len(tok("<think>red</think><answer>red<gen_emb>", add_special_tokens=False)["input_ids"])
    # The good rollout is scored up to and including <gen_emb>, not the end-of-turn after it;
    # the bad one (no <gen_emb>) up to and including its natural stop.
    assert int(q.score_mask[0].sum()) == good_len
    assert q.batch["input_ids"][0, P + good_len - 1].item() == trainer.ids.gen
    bad_len = len(tok("dog dog dog", add_special_tokens=False)["input_ids"]) + 1
    assert int(q.score_mask[1].sum()) == bad_len
    assert q.texts[0].endswith("<gen_emb>") and "im_end" not in q.texts[1]
    _, emb, valid = trainer.forward_side(q)
    assert valid.tolist() == [[True, False]]
    # A rollout cut off by the budget (12 tokens here) is scored on its first 12 tokens only.
    long = completion_ids(tok, "dog " * 30, trainer.ids.eos[0])
    cut = trainer.side_rollout([trainer.pairs[0].query], [long, long])
    assert int(cut.score_mask[0].sum()) == 12 and len(long) > 12
    assert emb.shape == (1, 2, trainer.ume.hidden_size)


def test_sampled_step_with_video_and_text_pairs(primed_dir, tmp_path):
    data = write_rl_data(tmp_path, rows=4)
    cfg = _cfg(primed_dir, data, tmp_path / "run", data__pairs_per_device=4,
               grpo__num_iterations=2)
    trainer = RLTrainer(cfg)
    seen = {}
    orig = trainer.first_pass

    def spy(q_roll, t_roll, *a, **k):
        seen["q"] = q_roll
        return orig(q_roll, t_roll, *a, **k)
    trainer.first_pass = spy
    m = trainer.train_step()
    assert "pixel_values_videos" in seen["q"].batch                # video reaches the forward
    assert seen["q"].batch["video_grid_thw"].shape[0] == 2         # one clip x G = 2
    assert m["gathered_pairs"] == 4 and m["completion_length"] > 0
    for key in ("reward", "format_rate", "reward_emb", "rank", "gap", "kl", "zero_spread_groups",
                "completion_length", "missing_gen_emb", "time_generation", "time_forward",
                "time_backward"):
        assert key in m


def test_prompt_length_limit_skips_and_counts(primed_dir, tmp_path):
    data = write_rl_data(tmp_path, rows=4)
    pairs = read_rl_pairs(data)
    trainer = RLTrainer(_cfg(primed_dir, data, tmp_path / "run", rollout__max_prompt_length=10_000),
                        pairs=pairs)
    lengths = {p.row: max(trainer.prompt_batch([p.query])[0]["input_ids"].shape[1],
                          trainer.prompt_batch([p.target])[0]["input_ids"].shape[1]) for p in pairs}
    limit = min(lengths.values())            # only the pairs with the shortest prompts pass
    assert max(lengths.values()) > limit
    trainer.cfg.rollout.max_prompt_length = limit
    chosen, skipped = trainer.next_pairs()
    assert skipped > 0 and len(chosen) == 2
    for p in chosen:
        assert lengths[p.row] <= limit


@pytest.mark.faults
def test_cli_run_resume_equals_uninterrupted_run(primed_dir, tmp_path, capsys):
    data = write_rl_data(tmp_path, rows=4)
    common = ["train", "rl", "--config", "configs/rl/tiny.yaml", "--set", f"model.base={primed_dir}",
              "--set", f"data.train_file={data}", "--set", "rollout.num_generations=4",
              "--set", "rollout.max_completion_length=10", "--set", "data.pairs_per_device=2",
              "--set", "train.steps=3", "--set", "train.save_every=1", "--set", "train.keep_last=5",
              "--set", "train.plot=true", "--set", "optim.lr=1e-3", "--set", "train.progress_bar=false"]
    full, killed = tmp_path / "full", tmp_path / "killed"
    assert main([*common, "--set", f"train.output_dir={full}"]) == 0
    assert json.loads(capsys.readouterr().out)["steps"] == 3
    # a run "killed" right after its step-1 checkpoint: only that checkpoint survives
    shutil.copytree(full, killed)
    for p in (killed / "checkpoints").iterdir():
        if p.name != "step-00000001":
            shutil.rmtree(p)
    shutil.rmtree(killed / "final")
    # started again without --resume it refuses (one line), with --resume it continues
    assert main([*common, "--set", f"train.output_dir={killed}"]) == 2
    assert "--resume" in capsys.readouterr().err
    assert main([*common, "--set", f"train.output_dir={killed}", "--resume"]) == 0
    rows_full, rows_resumed = read_metrics(full / "metrics.jsonl"), read_metrics(killed / "metrics.jsonl")
    assert [r["step"] for r in rows_resumed] == [1, 2, 3]
    # the rewards vary (within groups and between steps), so equal rows mean equal rollouts
    assert min(r["zero_spread_groups"] for r in rows_full) < 1
    assert len({round(r["reward"], 6) for r in rows_full}) > 1
    for a, b in zip(rows_full, rows_resumed):
        for key in ("reward", "reward_emb", "format_rate", "rank", "gap", "kl", "loss", "grad_norm",
                    "lr", "completion_length", "missing_gen_emb"):
            assert a[key] == pytest.approx(b[key], rel=1e-6, abs=1e-6), (key, a, b)
    from safetensors.torch import load_file
    wa = load_file(str(full / "final" / "model.safetensors"))
    wb = load_file(str(killed / "final" / "model.safetensors"))
    assert all(torch.allclose(wa[k], wb[k], atol=1e-6) for k in wa)
    assert (full / "curves.png").stat().st_size > 0 and (full / "config.yaml").is_file()
    assert json.loads((killed / "run.json").read_text())["resumed_from"].endswith("step-00000001")
    from umer1 import UMEModel
    UMEModel.from_pretrained(full / "final")
    from huggingface_hub import ModelCard
    recorded = ModelCard.load(killed / "final" / "README.md").data.to_dict()["umer1"]
    assert (recorded["stage"], recorded["step"], recorded["base_model"]) == ("rl", 3, str(primed_dir))


@pytest.mark.parametrize("key, value", [("train.steps", 0), ("optim.lr", float("nan")),
                                        ("optim.lr", -1.0), ("data.pairs_per_device", 0),
                                        ("rollout.num_generations", 1), ("reward.variant", "nope")])
def test_bad_config_values_name_the_key(primed_dir, tmp_path, key, value):
    data = write_rl_data(tmp_path, rows=2)
    cfg = _cfg(primed_dir, data, tmp_path / "run")
    section, name = key.split(".")
    setattr(getattr(cfg, section), name, value)
    with pytest.raises(InputError) as err:
        RLTrainer(cfg)
    assert err.value.field == key and not (tmp_path / "run").exists()


def test_cli_bad_input_is_one_line(primed_dir, tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"qry_text": "a", "pos_text": ""}\n')
    rc = main(["train", "rl", "--config", "configs/rl/tiny.yaml", "--set", f"model.base={primed_dir}",
               "--set", f"data.train_file={bad}", "--set", f"train.output_dir={tmp_path / 'o'}"])
    assert rc == 2
    err = capsys.readouterr().err
    assert "row 1" in err and "pos_text" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_vllm_backend_is_import_guarded(primed_dir, tmp_path):
    try:
        import vllm  # noqa: F401
        pytest.skip("vLLM is installed here")
    except ImportError:
        pass
    from umer1.utils.errors import InputError
    data = write_rl_data(tmp_path, rows=2)
    with pytest.raises(InputError) as err:
        RLTrainer(_cfg(primed_dir, data, tmp_path / "run", rollout__backend="vllm"))
    assert err.value.field == "rollout.backend"


def test_every_backbone_takes_rl_steps(backbone_dir, tmp_path):
    data = write_rl_data(tmp_path, rows=4)
    trainer = RLTrainer(_cfg(backbone_dir, data, tmp_path / "run", data__pairs_per_device=4))
    seen = []
    orig = trainer.first_pass

    def spy(q_roll, t_roll, *a, **k):
        seen.append(q_roll.batch)
        return orig(q_roll, t_roll, *a, **k)
    trainer.first_pass = spy
    for _ in range(2):
        m = trainer.train_step()
        assert m["gathered_pairs"] == 4 and m["completion_length"] > 0
        assert all(torch.isfinite(torch.tensor(float(m[k]))) for k in ("reward", "kl", "reward_emb"))
    assert all("pixel_values_videos" in b and "pixel_values" in b for b in seen)


def test_rl_without_reward_spread_stops_with_one_line(tiny_model_dir, tmp_path, capsys):
    # an unprimed random model never writes the format: every reward is 0, every group flat
    data = write_rl_data(tmp_path, rows=4)
    rc = main(["train", "rl", "--config", "configs/rl/tiny.yaml", "--set", f"model.base={tiny_model_dir}",
               "--set", f"data.train_file={data}", "--set", f"train.output_dir={tmp_path / 'o'}",
               "--set", "grpo.stop_without_signal=2", "--set", "train.steps=5",
               "--set", "rollout.max_completion_length=8", "--set", "data.pairs_per_device=2",
               "--set", "rollout.num_generations=2", "--set", "train.progress_bar=false"])
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("error:")]
    assert rc == 2 and len(err) == 1
    assert "RL stopped after 2 steps" in err[0] and "no gradient" in err[0]
