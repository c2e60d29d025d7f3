"""User text is text: tokenised literally, never parsed as special tokens.

A tokenizer extracts its added tokens (`<|im_end|>`, `<|image_pad|>`, `<gen_emb>`, ...) from
anywhere in a string, so a user who types one would end the turn, break the image-pad count or
move the position an embedding is read from. The chat text is therefore tokenised as usual with
the user's text left out, and the user's segment is then tokenised with the BPE model alone
and spliced in. Added tokens split a string into segments that are tokenised independently, so
for text without an added-token string the result equals ordinary tokenisation: only rows that
need it take this path (`needs_literal`).
"""
from __future__ import annotations

import torch

from umer1.engine.prompts import DISC_TOKEN, Prompt


def added_strings(tokenizer) -> tuple[str, ...]:
    return tuple(tokenizer.get_added_vocab())


def needs_literal(prompt: Prompt, added: tuple[str, ...]) -> bool:
    return prompt.user is not None and any(s in prompt.user for s in added)


def literal_ids(tokenizer, text: str) -> list[int]:
    """Token ids of `text` with no added-token matching: normaliser, pre-tokeniser, BPE.
    `tokenizer` is a transformers tokenizer or a `tokenizers.Tokenizer`."""
    backend = getattr(tokenizer, "backend_tokenizer", tokenizer)
    if backend.normalizer is not None:
        text = backend.normalizer.normalize_str(text)
    pieces = backend.pre_tokenizer.pre_tokenize_str(text) if backend.pre_tokenizer else [(text, None)]
    return [tok.id for piece, _ in pieces for tok in backend.model.tokenize(piece)]


def user_segment(prompt: Prompt, added: tuple[str, ...]) -> str:
    """The template text between its last added token before `\\n<disc_emb>` and `<disc_emb>`,
    with the user's text in place: the one segment the user's text shares with the template."""
    cut = prompt.template.index("\n" + DISC_TOKEN)
    start = max((prompt.template.rfind(s, 0, cut) + len(s) for s in added
                 if prompt.template.rfind(s, 0, cut) >= 0), default=0)
    return prompt.template[start:cut] + prompt.user + "\n"


def splice_rows(batch, rows: dict[int, list[int]], *, disc_id: int, added_ids: set[int],
                pad_id: int, padding_side: str) -> None:
    """Replace, in each given row of a processor batch built from templates, the tokens of the
    user segment (between the last added token before `<disc_emb>` and `<disc_emb>`) with the
    given ids, then re-pad every per-token tensor. Edits `batch` in place."""
    keys = [k for k in ("input_ids", "attention_mask", "mm_token_type_ids", "token_type_ids")
            if k in batch]
    seqs = []
    for r in range(batch["input_ids"].shape[0]):
        keep = batch["attention_mask"][r].bool()
        row = {k: batch[k][r][keep] for k in keys}
        if r in rows:
            ids = row["input_ids"].tolist()
            d = ids.index(disc_id)
            s = max(i for i in range(d) if ids[i] in added_ids)
            new = torch.tensor(rows[r], dtype=row["input_ids"].dtype)
            fill = {"input_ids": new, "attention_mask": torch.ones_like(new)}
            for k in keys:
                part = fill.get(k, torch.zeros_like(new, dtype=row[k].dtype))
                row[k] = torch.cat([row[k][:s + 1], part.to(row[k].dtype), row[k][d:]])
        seqs.append(row)
    width = max(len(s["input_ids"]) for s in seqs)
    for k in keys:
        fill = pad_id if k == "input_ids" else 0
        out = torch.full((len(seqs), width), fill, dtype=batch[k].dtype)
        for r, s in enumerate(seqs):
            n = len(s[k])
            if padding_side == "left":
                out[r, width - n:] = s[k]
            else:
                out[r, :n] = s[k]
        batch[k] = out
