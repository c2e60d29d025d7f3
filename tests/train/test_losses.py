"""InfoNCE and NTP against hand computations on fixed tensors."""
from __future__ import annotations

import math

import torch

from umer1.train.sft.losses import info_nce, ntp_loss


def test_info_nce_hand_computed():
    q = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    s = math.sqrt(0.5)
    t = torch.tensor([[s, s], [0.0, 1.0]])
    # logits = 50 * q @ t.T = [[50s, 0], [50s, 50]]
    a = 50 * s
    ce_q = 0.5 * ((math.log(math.exp(a) + 1) - a) + (math.log(math.exp(a) + math.exp(50)) - 50))
    # t @ q.T * 50 = [[50s, 50s], [0, 50]]
    ce_t = 0.5 * ((math.log(2 * math.exp(a)) - a) + (math.log(1 + math.exp(50)) - 50))
    expected = 0.5 * (ce_q + ce_t)
    assert torch.allclose(info_nce(q, t), torch.tensor(expected), atol=1e-5)


def test_info_nce_temperature_and_gradient():
    torch.manual_seed(0)
    q = torch.nn.functional.normalize(torch.randn(4, 8), dim=-1).requires_grad_()
    t = torch.nn.functional.normalize(torch.randn(4, 8), dim=-1)
    loss = info_nce(q, t, temperature=1.0)
    logits = q @ t.T
    labels = torch.arange(4)
    ref = 0.5 * (torch.nn.functional.cross_entropy(logits, labels)
                 + torch.nn.functional.cross_entropy(logits.T, labels))
    assert torch.allclose(loss, ref)
    loss.backward()
    assert q.grad is not None and q.grad.abs().sum() > 0


def test_ntp_loss_is_token_mean_over_masked_positions():
    lp = torch.tensor([[0.0, -1.0, -2.0], [0.0, -3.0, -5.0]])
    mask = torch.tensor([[False, True, True], [False, False, True]])
    assert torch.allclose(ntp_loss(lp, mask), torch.tensor((1 + 2 + 5) / 3))
    assert torch.allclose(ntp_loss(lp, mask, normalizer=4.0), torch.tensor(8 / 4))
    assert ntp_loss(lp, torch.zeros_like(mask)).item() == 0.0
