import logging

import pytest
import torch
import torch.nn.functional as F

from umer1.train.rl.rewards import (both_sides, embedding_reward, format_reward, group_advantages,
                           zero_spread_fraction)


def _pairs(N=4, G=3, D=16, noise=0.05, seed=0):
    """Query and target rollouts clustered around one direction per pair."""
    g = torch.Generator().manual_seed(seed)
    centers = F.normalize(torch.randn(N, 1, D, generator=g), dim=-1)
    q = F.normalize(centers + noise * torch.randn(N, G, D, generator=g), dim=-1)
    t = F.normalize(centers + noise * torch.randn(N, G, D, generator=g), dim=-1)
    return q, t


def test_format_reward_rules():
    texts = [
        "<think>a\nb</think><answer>cat<gen_emb>",           # canonical, no </answer>
        "pre <think>x</think> mid <answer>y</answer><gen_emb> post",
        "<think>x</think><answer>y",                         # no <gen_emb>
        "<THINK>x</THINK><answer>y<gen_emb>",                # case-sensitive
        "<answer>y<gen_emb><think>x</think>",                # wrong order
        "<think>x</think><gen_emb>",                         # no <answer>
    ]
    assert format_reward(texts).tolist() == [1.0, 1.0, 0.0, 0.0, 0.0, 0.0]


def test_well_separated_pairs_get_rank_one_and_positive_gap():
    q, t = _pairs()
    r = embedding_reward(q, t, torch.arange(4))
    assert torch.allclose(r.rank, torch.ones(4, 3))
    assert bool((r.gap > 0.5).all())
    assert torch.allclose(r.reward, r.rank * r.gap)
    assert bool((r.num_negatives == 9).all())     # (N - 1) * G


def test_shuffled_pairs_score_lower_and_gap_can_be_negative():
    q, t = _pairs()
    good = embedding_reward(q, t, torch.arange(4))
    shuffled = embedding_reward(q, t, torch.tensor([1, 2, 3, 0]))   # wrong partner for everyone
    assert shuffled.rank.mean() < good.rank.mean()
    assert shuffled.reward.mean() < good.reward.mean()
    assert shuffled.gap.mean() < 0 and (shuffled.gap < 0).float().mean() > 0.5
    assert bool((shuffled.reward <= 0).all())


def test_hand_computed_rank_and_gap():
    # One query rollout, G = 2 positives and 2 negatives (N = 2 pairs) in 2-D.
    e = lambda deg: torch.tensor([[torch.cos(torch.tensor(deg * torch.pi / 180)),
                                   torch.sin(torch.tensor(deg * torch.pi / 180))]])
    own = e(0).reshape(1, 1, 2).expand(1, 2, 2)                     # both rollouts at 0 deg
    other = torch.stack([torch.cat([e(10), e(80)]), torch.cat([e(20), e(90)])])  # (2, 2, 2)
    r = embedding_reward(own, other, torch.tensor([0]))
    c = lambda d: torch.cos(torch.tensor(d * torch.pi / 180)).item()
    # S+ = {cos10, cos80}, S- = {cos20, cos90}; top-2 = {cos10, cos20}: one positive of two.
    assert r.rank[0, 0].item() == pytest.approx(0.5)
    gap = (c(10) + c(80)) / 2 - (c(20) + c(90)) / 2
    assert r.gap[0, 0].item() == pytest.approx(gap, abs=1e-6)
    assert r.reward[0, 0].item() == pytest.approx(0.5 * gap, abs=1e-6)
    # One close positive and one opposite: rank 1/2 but a negative gap, so R_emb < 0.
    other = torch.stack([torch.cat([e(10), e(170)]), torch.cat([e(30), e(40)])])
    r = embedding_reward(own, other, torch.tensor([0]))
    assert r.rank[0, 0].item() == pytest.approx(0.5)
    assert r.reward[0, 0].item() == pytest.approx(0.5 * ((c(10) + c(170)) / 2 - (c(30) + c(40)) / 2), abs=1e-6)
    assert r.reward[0, 0].item() < 0


def test_ties_count_against_the_positive():
    same = F.normalize(torch.ones(3, 2, 4), dim=-1)                  # a collapsed model
    r = embedding_reward(same, same.clone(), torch.arange(3))
    assert torch.equal(r.rank, torch.zeros(3, 2))
    assert torch.allclose(r.gap, torch.zeros(3, 2), atol=1e-6)


def test_rollouts_without_embedding_get_zero_and_are_excluded():
    q, t = _pairs(N=3, G=2)
    t_valid = torch.ones(3, 2, dtype=torch.bool)
    t_valid[1, 0] = False
    t_bad = t.clone()
    t_bad[1, 0] = q[0, 0]            # garbage that would be a strong negative for pair 0
    r = embedding_reward(q, t_bad, torch.arange(3), other_valid=t_valid)
    ref = embedding_reward(q, t, torch.arange(3), other_valid=t_valid)
    assert torch.allclose(r.reward, ref.reward)                      # the invalid one is ignored
    assert r.num_negatives[0, 0].item() == 3                         # 4 candidates minus 1 invalid
    q_valid = torch.ones(3, 2, dtype=torch.bool)
    q_valid[2, 1] = False
    r2 = embedding_reward(q, t, torch.arange(3), own_valid=q_valid)
    assert r2.reward[2, 1].item() == 0.0 and r2.rank[2, 1].item() == 0.0


def test_single_pair_gives_defined_result_and_warns(caplog):
    q, t = _pairs(N=1, G=4)
    with caplog.at_level(logging.WARNING):
        r = embedding_reward(q, t, torch.tensor([0]))
    assert "no negatives" in caplog.text
    assert torch.isfinite(r.reward).all()
    assert torch.equal(r.reward, torch.zeros(1, 4))


def test_gathered_negatives_from_other_processes():
    # Local pairs are rows 2..3 of a gathered batch of 4 (process 1 of 2).
    q, t = _pairs(N=4, G=2)
    full = embedding_reward(q, t, torch.arange(4))
    local = embedding_reward(q[2:], t, torch.tensor([2, 3]))
    assert torch.allclose(local.reward, full.reward[2:])
    assert bool((local.num_negatives == 6).all())


def test_variants():
    q, t = _pairs()
    idx = torch.arange(4)
    base = embedding_reward(q, t, idx)
    assert torch.allclose(embedding_reward(q, t, idx, variant="rank").reward, base.rank)
    assert torch.allclose(embedding_reward(q, t, idx, variant="gap").reward, base.gap)
    thr = embedding_reward(q, t, idx, variant="threshold", threshold=0.9)
    assert torch.equal(thr.reward, (base.pos_mean >= 0.9).float())
    with pytest.raises(ValueError):
        embedding_reward(q, t, idx, variant="nope")


def test_both_sides_is_symmetric():
    q, t = _pairs(N=3, G=4, noise=0.5, seed=3)
    fq, ft = torch.rand(3, 4).round(), torch.rand(3, 4).round()
    idx = torch.arange(3)
    rq, rt = both_sides(q, t, q, t, idx, fq, ft)
    sq, st = both_sides(t, q, t, q, idx, ft, fq)        # swap the roles of the two sides
    assert torch.allclose(rq.total, st.total) and torch.allclose(rt.total, sq.total)
    assert torch.allclose(rq.total, fq + embedding_reward(q, t, idx).reward)
    assert torch.allclose(rt.total, ft + embedding_reward(t, q, idx).reward)


def test_group_advantages():
    r = torch.tensor([[1.0, 2.0, 3.0, 6.0], [0.5, 0.5, 0.5, 0.5], [1.0, 1.0 + 1e-6, 1.0, 1.0]])
    a = group_advantages(r)
    std = r[0].std()                                   # sample std (G - 1)
    assert torch.allclose(a[0], (r[0] - r[0].mean()) / (std + 1e-4))
    assert torch.equal(a[1], torch.zeros(4))           # equal rewards: no signal
    assert a[2].abs().max() < 0.01                     # nearly equal: small advantages
    assert torch.allclose(a.sum(-1), torch.zeros(3), atol=1e-5)
    assert zero_spread_fraction(r) == pytest.approx(1 / 3)
    assert torch.equal(group_advantages(torch.ones(2, 1)), torch.zeros(2, 1))
