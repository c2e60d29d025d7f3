import pytest
import torch

from umer1.engine.positions import MISSING, assistant_start, disc_positions, gather, gen_positions, normalize

G, D = 7, 8


def test_disc_position_is_the_token_itself():
    ids = torch.tensor([[0, 1, D, 3, 4], [D, 1, 2, 3, 4]])
    assert disc_positions(ids, D).tolist() == [2, 0]


def test_disc_missing_is_an_error():
    with pytest.raises(ValueError, match="no <disc_emb>"):
        disc_positions(torch.tensor([[1, 2, 3]]), D)


def test_gen_position_is_last_occurrence_in_generated_part():
    # the prompt holds a literal <gen_emb> (index 1); generation starts at index 3
    ids = torch.tensor([[0, G, 2, 5, G, 6], [0, G, 2, 5, 6, 6]])
    assert gen_positions(ids, G, 3).tolist() == [4, MISSING]
    assert gen_positions(ids, G, torch.tensor([3, 1])).tolist() == [4, 1]


def test_gather_and_normalize():
    h = torch.arange(24, dtype=torch.float).reshape(2, 3, 4)
    out = gather(h, torch.tensor([2, 0]))
    assert torch.equal(out, torch.stack([h[0, 2], h[1, 0]]))
    assert torch.allclose(normalize(out).norm(dim=-1), torch.ones(2))


def test_assistant_start_after_the_last_marker():
    ids = torch.tensor([[9, 1, 2, 5, 1, 2, 6, 6], [1, 2, 4, 4, 4, 4, 4, 4]])
    assert assistant_start(ids, [1, 2]).tolist() == [6, 2]
