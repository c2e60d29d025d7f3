"""The two embedding tokens: added by name, initialised from their spec rows, looked up by name."""
from __future__ import annotations

from dataclasses import dataclass

import torch
from tokenizers import AddedToken

from umer1.engine.prompts import DISC_TOKEN, GEN_TOKEN

# Each new token's embedding starts as a copy of an existing token's row (spec section 1).
INIT_FROM = {GEN_TOKEN: "<|object_ref_end|>", DISC_TOKEN: "<|object_ref_start|>"}


@dataclass(frozen=True)
class TokenIds:
    """Ids the embedding code needs, read from a tokenizer by name."""
    gen: int
    disc: int
    eos: tuple[int, ...]          # ends a generated turn
    pad: int
    vision: tuple[int, ...]       # never sampled

    @classmethod
    def from_tokenizer(cls, tokenizer, vision_token_names) -> "TokenIds":
        vocab = tokenizer.get_vocab()
        missing = [t for t in (GEN_TOKEN, DISC_TOKEN) if t not in vocab]
        if missing:
            raise KeyError(" and ".join(missing))
        eos = [vocab["<|im_end|>"]]
        if "<|endoftext|>" in vocab:
            eos.append(vocab["<|endoftext|>"])
        pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else eos[-1]
        return cls(gen=vocab[GEN_TOKEN], disc=vocab[DISC_TOKEN], eos=tuple(eos), pad=pad,
                   vision=tuple(vocab[t] for t in vision_token_names if t in vocab))


def has_embedding_tokens(tokenizer) -> bool:
    vocab = tokenizer.get_vocab()
    return GEN_TOKEN in vocab and DISC_TOKEN in vocab


def add_embedding_tokens(tokenizer, model=None) -> list[str]:
    """Add `<gen_emb>` and `<disc_emb>` as normal (not special) tokens; initialise new rows.

    Normal tokens survive `decode(..., skip_special_tokens=True)`, which the released
    tokenizer relies on. Returns the tokens that were actually added.
    """
    new = [t for t in (GEN_TOKEN, DISC_TOKEN) if t not in tokenizer.get_vocab()]
    if not new:
        return []
    tokenizer.add_tokens([AddedToken(t, special=False, normalized=False) for t in new])
    if model is not None:
        init_embedding_rows(tokenizer, model, new)
    return new


@torch.no_grad()
def init_embedding_rows(tokenizer, model, tokens=(GEN_TOKEN, DISC_TOKEN)) -> None:
    """Copy each token's source row into its own row, input and (untied) output embeddings."""
    vocab = tokenizer.get_vocab()
    emb = model.get_input_embeddings()
    if len(tokenizer) > emb.weight.shape[0]:  # Qwen2-VL has spare rows; others may not
        model.resize_token_embeddings(len(tokenizer))
        emb = model.get_input_embeddings()
    out = model.get_output_embeddings()
    for token in tokens:
        dst, src = vocab[token], vocab[INIT_FROM[token]]
        emb.weight[dst] = emb.weight[src]
        if out is not None and out.weight is not emb.weight:
            out.weight[dst] = out.weight[src]
