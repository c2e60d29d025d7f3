"""Generative embeddings captured DURING generation, with no second forward pass.

A forward hook on the decoder's final norm keeps, for each decoding step, only the
last position's state (the memory of one vector per row, not every layer's states). A
logits processor, called once per step right after that forward, knows which token each
row just consumed: when it was the generated `<gen_emb>`, that state IS the generative
embedding (spec section 1), and the row is then ended with an end-of-turn token.

Rule for a row that has not emitted `<gen_emb>` when the token budget is spent, flagged
`found=False` either way:
- `force_gen_emb=True` (what `UMEModel.generate` does): its last budgeted token is forced to be
  `<gen_emb>`, so its embedding is still read at a `<gen_emb>` token, the position the model was
  trained to summarise the input into, over whatever reasoning it wrote so far.
- `force_gen_emb=False` (what RL rollouts use, where every token must be the policy's own
  sample): its embedding is the state at the last token it fed to the model (the prompt's
  final token if it generated nothing).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers import LogitsProcessor, LogitsProcessorList

from umer1.engine.params import GenParams
from umer1.engine.positions import disc_positions, gather
from umer1.engine.tokens import TokenIds


class _LastStateHook:
    """Forward hook on the final norm: remembers the newest output (last position only),
    and the full prefill output's rows at the disc positions when asked."""

    def __init__(self, disc_id: int | None):
        self.disc_id = disc_id
        self.last: torch.Tensor | None = None
        self.prefill: torch.Tensor | None = None   # full prefill output, dropped once read
        self.calls = 0

    def __call__(self, module, args, output):
        out = output[0] if isinstance(output, tuple) else output
        self.last = out[:, -1, :].detach()
        if self.calls == 0 and self.disc_id is not None:
            self.prefill = out.detach()
        self.calls += 1


class _CaptureProcessor(LogitsProcessor):
    def __init__(self, hook: _LastStateHook, prompt_len: int, gen_id: int, eos_id: int,
                 stop_ids: tuple[int, ...], max_new_tokens: int, force_gen_emb: bool):
        self.hook = hook
        self.prompt_len = prompt_len
        self.gen_id, self.eos_id, self.stop_ids = gen_id, eos_id, stop_ids
        self.max_new_tokens = max_new_tokens
        self.force_gen_emb = force_gen_emb
        self.state = self.found = self.done = self.forced = None

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        state = self.hook.last
        step = input_ids.shape[1] - self.prompt_len   # generated tokens fed so far
        if self.state is None:  # prefill: the state at the prompt's last token
            rows = input_ids.shape[0]
            self.state = state.clone()
            self.found = torch.zeros(rows, dtype=torch.bool, device=state.device)
            self.done = torch.zeros(rows, dtype=torch.bool, device=state.device)
            self.forced = torch.zeros(rows, dtype=torch.bool, device=state.device)
        else:
            last = input_ids[:, -1].to(state.device)
            stop = torch.isin(last, torch.tensor(self.stop_ids, device=state.device))
            self.done |= stop                      # finished rows are fed padding from now on
            live = ~self.done
            self.state[live] = state[live]
            got = live & (last == self.gen_id)
            self.found |= got & ~self.forced
            self.done |= got                       # the embedding is read: end the turn
        end = self.done.clone()
        if step >= self.max_new_tokens:            # the budget is spent: end every row
            end[:] = True
        scores = _force(scores, end, self.eos_id)
        if self.force_gen_emb and step == self.max_new_tokens - 1:
            last_chance = ~self.done               # the last budgeted token becomes <gen_emb>
            self.forced |= last_chance
            scores = _force(scores, last_chance, self.gen_id)
        return scores


def _force(scores: torch.Tensor, rows: torch.Tensor, token: int) -> torch.Tensor:
    """Make `token` the only possible choice for the given rows."""
    if not rows.any():
        return scores
    scores = scores.clone()
    scores[rows] = float("-inf")
    scores[rows, token] = 0.0
    return scores


@dataclass
class Generated:
    sequences: torch.Tensor        # (R, prompt_len + new) token ids, R = rows x samples
    new_tokens: torch.Tensor       # (R, new) generated ids (padding after the end)
    states: torch.Tensor           # (R, H) gen embedding states (not normalised)
    found: torch.Tensor            # (R,) bool: the model wrote `<gen_emb>` itself (not forced)
    num_new_tokens: torch.Tensor   # (R,) tokens generated up to and including the end
    disc_states: torch.Tensor | None  # (R, H) states at `<disc_emb>` from the same prefill


@torch.no_grad()
def generate_with_capture(model, final_norm, batch, *, ids: TokenIds, params: GenParams,
                          want_disc: bool = True, force_gen_emb: bool = False) -> Generated:
    """Run `model.generate` once and return the gen states captured on the way.

    `batch` must be LEFT padded. One extra step is allowed internally so that a `<gen_emb>`
    emitted as the last budgeted token is still consumed and captured. Every sampling
    parameter comes from `params` (none from the checkpoint's generation_config).
    """
    disc_id = ids.disc if want_disc else None
    stop_ids, max_new_tokens, num_samples = ids.eos, params.max_new_tokens, params.num_samples
    prompt_len = batch["input_ids"].shape[1]
    hook = _LastStateHook(disc_id)
    capture = _CaptureProcessor(hook, prompt_len, ids.gen, stop_ids[0], stop_ids, max_new_tokens,
                                force_gen_emb)
    handle = final_norm.register_forward_hook(hook)
    try:
        out = model.generate(
            **batch, max_new_tokens=max_new_tokens + 1, num_return_sequences=num_samples,
            logits_processor=LogitsProcessorList([capture]), suppress_tokens=list(ids.vision),
            eos_token_id=list(stop_ids), pad_token_id=ids.pad, use_cache=True,
            **params.generate_kwargs())
    finally:
        handle.remove()
    sequences = out if isinstance(out, torch.Tensor) else out.sequences
    new = sequences[:, prompt_len:]
    is_stop = torch.isin(new, torch.tensor(stop_ids, device=new.device))
    ended = is_stop.any(dim=1)
    first_stop = torch.where(ended, is_stop.int().argmax(dim=1), torch.full_like(ended, new.shape[1], dtype=torch.long))
    disc = None
    if disc_id is not None and hook.prefill is not None:
        ids = batch["input_ids"].repeat_interleave(num_samples, dim=0).to(hook.prefill.device)
        disc = gather(hook.prefill, disc_positions(ids, disc_id))
    return Generated(sequences=sequences, new_tokens=new, states=capture.state,
                     found=capture.found.cpu(), num_new_tokens=(first_stop + ended.long()).cpu(),
                     disc_states=disc)
