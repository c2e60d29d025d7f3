"""From SFT pairs to model tensors: chat text, processor batch, assistant-only labels.

- Text comes from `umer1.engine.prompts` only: released records through `render_sft_side` (written
  whitespace kept), own records through `prepare` (the inference format).
- The score mask (the NTP labels) covers the assistant turn only: the reasoning, the summary,
  `<gen_emb>` and the closing `<|im_end|>\\n`; prompt and padding tokens are masked.
- Truncation to `max_length` cuts from the end. The answer (and with it `<gen_emb>`) is the end
  of the text, so a pair is kept only if both sides' `<gen_emb>` survive (then `<disc_emb>`,
  which lies before it, survives too); otherwise the pair is dropped and counted.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

import torch

from umer1.data.sft import SFTPair, SFTSide
from umer1.engine.positions import MISSING, assistant_start, disc_positions, gen_positions
from umer1.engine.inputs import load_image, sample_frames
from umer1.engine.processing import processor_batch
from umer1.engine.prompts import IM_START, Prompt, blank_image, prepare, render_sft_side, system_turn
from umer1.engine.settings import EmbeddingSettings

log = logging.getLogger(__name__)


@dataclass
class SideBatch:
    inputs: dict                  # processor tensors for the model forward
    score_mask: torch.Tensor      # (B, L) bool: assistant tokens (NTP labels)
    disc_pos: torch.Tensor        # (B,)
    gen_pos: torch.Tensor         # (B,)

    def to(self, device) -> "SideBatch":
        return SideBatch({k: v.to(device) for k, v in self.inputs.items()},
                         self.score_mask.to(device), self.disc_pos.to(device), self.gen_pos.to(device))


@dataclass
class PairBatch:
    """B pairs as ONE batch of 2B rows: rows [0, B) are the queries, rows [B, 2B) the targets.

    One forward over both sides computes exactly what two forwards would (attention never
    crosses rows) and keeps data-parallel wrappers to one forward per backward."""
    side: SideBatch | None        # None when every pair was dropped
    datasets: list[str]
    dropped: int                  # pairs dropped because a <gen_emb> would be cut

    def __len__(self) -> int:
        return len(self.datasets)


def side_prompt(side: SFTSide, settings: EmbeddingSettings) -> Prompt:
    """Decoded visuals and chat text (with the assistant answer) for one side."""
    images = [load_image(p, "image") for p in side.images]
    videos = []
    if side.video:
        videos.append([load_image(f, "video") for f in sample_frames(side.video, settings.video_frames)])
    if not side.released:
        return prepare(side.text, images, videos, blank_image_for_text=settings.blank_image_for_text,
                       assistant=side.answer, system=system_turn(settings.prompt_format))
    if settings.blank_image_for_text and not images and not videos:
        images = [blank_image()]  # the reference attaches it to every text-only side
    text = render_sft_side(side.text, side.answer, len(images), len(videos),
                           system=system_turn(settings.prompt_format))
    return Prompt(text, images, videos)


class SFTCollator:
    def __init__(self, processor, settings: EmbeddingSettings, *, gen_id: int, disc_id: int,
                 max_length: int | None = None):
        self.processor = processor
        self.settings = settings
        self.gen_id, self.disc_id = gen_id, disc_id
        self.max_length = max_length
        self.marker = processor.tokenizer.encode(f"{IM_START}assistant\n", add_special_tokens=False)

    def _tokenize(self, prompts: list[Prompt]) -> tuple[dict, torch.Tensor, torch.Tensor]:
        batch = dict(processor_batch(self.processor, prompts, self.settings, padding_side="right"))
        ids = batch["input_ids"]
        start = assistant_start(ids, self.marker)
        if bool((start == MISSING).any()):
            raise ValueError("could not find the assistant turn in a rendered SFT sample")
        return batch, start, gen_positions(ids, self.gen_id, start)

    def __call__(self, pairs: list[SFTPair]) -> PairBatch:
        prompts = ([side_prompt(p.query, self.settings) for p in pairs]
                   + [side_prompt(p.target, self.settings) for p in pairs])
        batch, start, gen = self._tokenize(prompts)
        keep = list(range(len(pairs)))
        if self.max_length is not None:
            ok = (gen != MISSING) & (gen < self.max_length)
            ok = ok[:len(pairs)] & ok[len(pairs):]
            keep = ok.nonzero().flatten().tolist()
            if len(keep) < len(pairs):
                log.debug("dropped %d pairs whose <gen_emb> would be cut at %d tokens",
                          len(pairs) - len(keep), self.max_length)
                if not keep:
                    return PairBatch(None, [], len(pairs))
                n = len(pairs)
                batch, start, gen = self._tokenize([prompts[i] for i in keep]
                                                   + [prompts[n + i] for i in keep])
        datasets = [pairs[i].dataset for i in keep]
        return PairBatch(self._side(batch, start, gen), datasets, len(pairs) - len(keep))

    def _side(self, batch: dict, start: torch.Tensor, gen: torch.Tensor) -> SideBatch:
        if self.max_length is not None and batch["input_ids"].shape[1] > self.max_length:
            for key in ("input_ids", "attention_mask", "mm_token_type_ids"):
                if key in batch:
                    batch[key] = batch[key][:, :self.max_length]
        ids, attn = batch["input_ids"], batch["attention_mask"].bool()
        if bool((gen == MISSING).any()):
            raise ValueError("a rendered SFT sample has no <gen_emb> in its answer")
        cols = torch.arange(ids.shape[1]).expand_as(ids)
        score = (cols >= start.unsqueeze(1)) & attn
        return SideBatch(batch, score, disc_positions(ids, self.disc_id), gen)
