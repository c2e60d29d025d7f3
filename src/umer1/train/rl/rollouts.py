"""Rollout batches and the pair stream of the RL stage.

- `repeat_rows` repeats a processor batch G times per prompt, visual tensors included, for
  the teacher-forced forward over prompt + completion.
- `completion_batch` appends the sampled completions and marks the scored tokens: the ones
  the policy sampled, up to and including `<gen_emb>` (the end-of-turn token forced after it
  is not scored), or up to the natural stop, or the first `max_completion_length` tokens of a
  rollout cut off by the budget.
- `PairStream` is the seeded, sharded order of the pairs; its position is checkpointed.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from umer1.engine.positions import gen_positions


@dataclass
class SideRollout:
    """One side's N x G rollouts as a teacher-forced batch."""
    batch: dict                 # input_ids, attention_mask, mm_token_type_ids, visual tensors
    score_mask: torch.Tensor    # (R, L) scored completion tokens
    prompt_len: int
    texts: list[str]            # scored completion text, for the format reward
    num_tokens: torch.Tensor    # (R,) tokens generated, up to and including the stop
    num_pairs: int
    num_generations: int


def repeat_rows(batch, num_images: list[int], num_videos: list[int], times: int) -> dict:
    """Repeat each row of a processor batch `times` times (interleaved), visual tensors too.

    Visual tensors are flat over patches, so each row's images (and videos) are located
    through their grids and copied with it.
    """
    out = {}
    for key in ("input_ids", "attention_mask", "mm_token_type_ids"):
        if batch.get(key) is not None:
            out[key] = batch[key].repeat_interleave(times, dim=0)
    for pix, grid, counts, extra in (("pixel_values", "image_grid_thw", num_images, None),
                                     ("pixel_values_videos", "video_grid_thw", num_videos,
                                      "second_per_grid_ts")):
        if batch.get(pix) is None:
            continue
        grids = batch[grid]
        sizes = grids.prod(dim=-1)
        patch_start = torch.cumsum(sizes, 0) - sizes
        item_start = [sum(counts[:r]) for r in range(len(counts))]
        items = [i for r, c in enumerate(counts) for _ in range(times)
                 for i in range(item_start[r], item_start[r] + c)]
        idx = torch.cat([torch.arange(int(patch_start[i]), int(patch_start[i] + sizes[i]))
                         for i in items]).to(grids.device)
        out[pix] = batch[pix][idx]
        out[grid] = grids[items]
        if extra and batch.get(extra) is not None:
            out[extra] = torch.as_tensor(batch[extra])[items]
    return out


def completion_batch(prompt_batch: dict, completions: list[torch.Tensor], *, gen_id: int,
                     pad_id: int, max_completion_length: int, tokenizer) -> tuple[dict, torch.Tensor, list[str]]:
    """Append each row's completion (right padded) to its (left padded) prompt.

    Returns the teacher-forced batch, the score mask (see the module docstring for which
    tokens are scored) and the scored completion texts.
    """
    ids = prompt_batch["input_ids"]
    R, P = ids.shape
    T = max(1, max(len(c) for c in completions))
    comp = torch.full((R, T), pad_id, dtype=ids.dtype, device=ids.device)
    att = torch.zeros((R, T), dtype=prompt_batch["attention_mask"].dtype, device=ids.device)
    for i, c in enumerate(completions):
        comp[i, :len(c)] = c.to(ids.device)
        att[i, :len(c)] = 1
    batch = dict(prompt_batch)
    batch["input_ids"] = torch.cat([ids, comp], dim=1)
    batch["attention_mask"] = torch.cat([prompt_batch["attention_mask"], att], dim=1)
    if "mm_token_type_ids" in prompt_batch:
        mm = prompt_batch["mm_token_type_ids"]
        batch["mm_token_type_ids"] = torch.cat([mm, torch.zeros((R, T), dtype=mm.dtype, device=mm.device)], 1)
    pos = gen_positions(batch["input_ids"], gen_id, P)
    lengths = torch.tensor([len(c) for c in completions], device=ids.device)
    scored = torch.where(pos >= 0, pos - P + 1, lengths.clamp(max=max_completion_length))
    cols = torch.arange(P + T, device=ids.device).expand(R, -1)
    score_mask = (cols >= P) & (cols < P + scored.unsqueeze(1))
    texts = tokenizer.batch_decode([comp[i, :int(scored[i])] for i in range(R)],
                                   skip_special_tokens=True)
    return batch, score_mask, texts


class PairStream:
    """This process's endless stream of pairs: a seeded permutation per epoch, sharded by rank.

    The position is a plain integer so a checkpoint can store it and a resume continue it.
    """

    def __init__(self, num_pairs: int, seed: int, rank: int, world: int, position: int = 0):
        self.num_pairs, self.seed, self.rank, self.world = num_pairs, seed, rank, world
        self.position = position
        self._epoch, self._order = -1, []

    def shard_size(self) -> int:
        return len(range(self.rank, self.num_pairs, self.world))

    def next(self) -> int:
        size = self.shard_size()
        epoch, i = divmod(self.position, size)
        if epoch != self._epoch:
            g = torch.Generator().manual_seed(self.seed + epoch)
            self._order = torch.randperm(self.num_pairs, generator=g)[self.rank::self.world].tolist()
            self._epoch = epoch
        self.position += 1
        return self._order[i]
