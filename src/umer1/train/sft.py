"""The cold-start SFT stage (spec section 4), one readable file on accelerate.

Per micro-step, B pairs (the global batch, split over processes) go through ONE teacher-forced
forward of 2B rows (queries then targets; `umer1.engine.forward.TeacherForced`, last layer only).
From it: disc embeddings at `<disc_emb>`, gen embeddings at the answer's `<gen_emb>`
(`umer1.engine.positions`) and the assistant tokens' log-probs. The loss is

    w_gen * InfoNCE(gen_q, gen_t) + w_disc * InfoNCE(disc_q, disc_t)
    + w_ntp_qry * NTP(query) + w_ntp_pos * NTP(target)
    [+ w_genq_disct * InfoNCE(gen_q, disc_t) + w_discq_gent * InfoNCE(disc_q, gen_t)]

with embeddings gathered over processes (gradient kept). DUME (disc only) is
`loss.con_gen=0`. Gradient accumulation sums gradients of separate micro-steps: it does NOT
add in-batch negatives; `loss.grad_cache_chunk` (GradCache) does: the whole micro-batch is
scored together while only a chunk of it is in memory with activations at a time.
"""
from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import time
from dataclasses import replace, dataclass, field
from pathlib import Path

import torch

from umer1.utils.config import save_resolved, to_dict
from umer1.data.sft import SFTPair, group_batches, read_sft
from umer1.engine.positions import gather, normalize
from umer1.utils.errors import InputError
from umer1.engine.forward import TeacherForced
from umer1.utils.files import write_json
from umer1.train.losses import TEMPERATURE, info_nce, ntp_loss
from umer1.utils.progress import progress
from umer1.train.checkpoint import (clean_partial, latest_checkpoint, load_checkpoint,
                                    save_checkpoint, save_model_dir)
from umer1.train.collate import PairBatch, SFTCollator
from umer1.train.loop import (LoraSettings, MetricsLog, OptimSettings, all_sum, apply_lora,
                              enable_gradient_checkpointing, freeze_vision_tower, make_optimizer,
                              make_scheduler, reduce_mean, trainable_parameters)

log = logging.getLogger(__name__)


# ----- configuration ------------------------------------------------------------------------
@dataclass
class ModelConfig:
    base: str = ""                       # directory or hub id of the model to fine-tune
    tiny: bool = False                   # build a random tiny model at `base` if it is missing
    dtype: str = "float32"               # weights dtype: float32 | bfloat16
    attn_implementation: str | None = None
    freeze_vision: bool = True           # vision tower frozen, merger + LLM trained
    gradient_checkpointing: bool = False
    lora: LoraSettings = field(default_factory=LoraSettings)
    # EmbeddingSettings overrides (None = the checkpoint's own)
    min_pixels: int | None = None
    max_pixels: int | None = None
    video_max_pixels: int | None = None
    video_frames: int | None = None
    blank_image_for_text: bool | None = None


@dataclass
class DataConfig:
    train_file: str = ""
    data_root: str | None = None         # default: the train file's folder
    batch_size: int = 8                  # pairs per micro-step over ALL processes (in-batch negatives)
    group_size: int | None = None        # pairs of one dataset per group (default: batch_size / processes)
    order: str = "file"                  # file (as the reference) | shuffle (seeded groups)
    max_length: int | None = None        # tokens per side; pairs whose <gen_emb> would be cut are dropped
    check_files: bool = True


@dataclass
class LossConfig:
    con_gen: float = 1.0
    con_disc: float = 1.0
    ntp_qry: float = 1.0
    ntp_pos: float = 1.0
    con_genq_disct: float = 0.0          # cross-mode terms (align the two spaces)
    con_discq_gent: float = 0.0
    temperature: float = TEMPERATURE
    grad_cache_chunk: int = 0            # pairs per chunk for GradCache (0 = off)


@dataclass
class TrainConfig:
    output_dir: str = "runs/sft"
    steps: int = 100                     # optimiser steps
    seed: int = 0
    mixed_precision: str = "no"          # no | bf16 | fp16
    log_every: int = 1
    save_every: int = 0                  # 0 = only at the end
    keep_last: int = 2
    trackers: list[str] = field(default_factory=list)   # e.g. [tensorboard], [wandb]
    progress_bar: bool = True
    plot: bool = True
    find_unused_parameters: bool = False


@dataclass
class SFTConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    optim: OptimSettings = field(default_factory=lambda: OptimSettings())
    train: TrainConfig = field(default_factory=TrainConfig)


# ----- set-up -------------------------------------------------------------------------------
def build_accelerator(cfg: SFTConfig):
    from accelerate import Accelerator, DistributedDataParallelKwargs
    from accelerate.utils import set_seed
    kwargs = [DistributedDataParallelKwargs(find_unused_parameters=cfg.train.find_unused_parameters)]
    acc = Accelerator(gradient_accumulation_steps=cfg.optim.grad_accum,
                      mixed_precision=cfg.train.mixed_precision,
                      log_with=cfg.train.trackers or None, project_dir=cfg.train.output_dir,
                      step_scheduler_with_optimizer=False, kwargs_handlers=kwargs)
    set_seed(cfg.train.seed)
    return acc


def load_model(cfg: ModelConfig):
    from umer1.engine.model import UMEModel
    if not cfg.base:
        raise InputError("no base model given", field="model.base")
    if cfg.tiny and not Path(cfg.base).exists():
        from umer1.engine.tiny import make_tiny_model
        make_tiny_model(cfg.base)
    overrides = {k: getattr(cfg, k) for k in ("min_pixels", "max_pixels", "video_max_pixels",
                                              "video_frames", "blank_image_for_text")
                 if getattr(cfg, k) is not None}
    ume = UMEModel.from_pretrained(cfg.base, dtype=cfg.dtype, add_missing_tokens=True,
                                   attn_implementation=cfg.attn_implementation, **overrides)
    if cfg.freeze_vision:
        freeze_vision_tower(ume)
    if cfg.lora.enabled:
        apply_lora(ume, cfg.lora)
    if cfg.gradient_checkpointing:
        enable_gradient_checkpointing(ume)
    ume.model.train()
    return ume


# ----- the loss -----------------------------------------------------------------------------
def embed(tf, side) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(disc, gen, logprobs) of one forward over a SideBatch."""
    out = tf(side.inputs, side.score_mask)
    disc = normalize(gather(out.hidden, side.disc_pos))
    gen = normalize(gather(out.hidden, side.gen_pos))
    return disc, gen, out.logprobs


def contrastive_terms(disc: torch.Tensor, gen: torch.Tensor, n: int, loss: LossConfig) -> dict:
    """The InfoNCE terms with non-zero weight; rows [0, n) queries, [n, 2n) targets."""
    dq, dt, gq, gt = disc[:n], disc[n:], gen[:n], gen[n:]
    pairs = {"con_gen": (gq, gt), "con_disc": (dq, dt),
             "con_genq_disct": (gq, dt), "con_discq_gent": (dq, gt)}
    return {k: info_nce(a, b, temperature=loss.temperature)
            for k, (a, b) in pairs.items() if getattr(loss, k)}


def ntp_terms(logprobs, mask, n: int, norm_q: float, norm_t: float, loss: LossConfig) -> dict:
    out = {}
    if loss.ntp_qry:
        out["ntp_qry"] = ntp_loss(logprobs[:n], mask[:n], normalizer=norm_q)
    if loss.ntp_pos:
        out["ntp_pos"] = ntp_loss(logprobs[n:], mask[n:], normalizer=norm_t)
    return out


def weighted(terms: dict, loss: LossConfig) -> torch.Tensor:
    return sum(getattr(loss, k) * v for k, v in terms.items())


def ntp_normalizers(acc, chunks: list[PairBatch]) -> tuple[float, float]:
    """Global token counts of each side divided by the number of processes (see ntp_loss)."""
    q = t = 0
    for c in chunks:
        n = len(c)
        q += int(c.side.score_mask[:n].sum())
        t += int(c.side.score_mask[n:].sum())
    return all_sum(acc, q) / acc.num_processes, all_sum(acc, t) / acc.num_processes


def micro_step(acc, tf, chunks: list[PairBatch], loss: LossConfig) -> dict[str, float]:
    """Forward + backward for one micro-batch (one chunk, or several with GradCache)."""
    norm_q, norm_t = ntp_normalizers(acc, chunks)
    if len(chunks) == 1:
        c = chunks[0]
        disc, gen, lp = embed(tf, c.side)
        terms = {**contrastive_terms(disc, gen, len(c), loss),
                 **ntp_terms(lp, c.side.score_mask, len(c), norm_q, norm_t, loss)}
        acc.backward(weighted(terms, loss))
        return {k: float(v.detach()) for k, v in terms.items()}
    # GradCache: 1) embeddings of every chunk without activations kept
    with torch.no_grad():
        outs = [embed(tf, c.side)[:2] for c in chunks]
    sizes = [len(c) for c in chunks]
    q_d = torch.cat([d[:n] for (d, _), n in zip(outs, sizes)])
    t_d = torch.cat([d[n:] for (d, _), n in zip(outs, sizes)])
    q_g = torch.cat([g[:n] for (_, g), n in zip(outs, sizes)])
    t_g = torch.cat([g[n:] for (_, g), n in zip(outs, sizes)])
    disc = torch.cat([q_d, t_d]).requires_grad_()
    gen = torch.cat([q_g, t_g]).requires_grad_()
    # 2) the contrastive loss of the whole micro-batch, differentiated w.r.t. the embeddings
    con = contrastive_terms(disc, gen, sum(sizes), loss)
    if con:
        weighted(con, loss).backward()
    g_disc = disc.grad if disc.grad is not None else torch.zeros_like(disc)
    g_gen = gen.grad if gen.grad is not None else torch.zeros_like(gen)
    # 3) per chunk: re-forward with activations, push the cached gradients + NTP through
    N, logged = sum(sizes), {k: float(v.detach()) for k, v in con.items()}
    start = 0
    for i, c in enumerate(chunks):
        n = sizes[i]
        rows = torch.cat([torch.arange(start, start + n), torch.arange(N + start, N + start + n)])
        last = i == len(chunks) - 1
        sync = contextlib.nullcontext() if last else acc.no_sync(tf)
        with sync:
            d, g, lp = embed(tf, c.side)
            ntp = ntp_terms(lp, c.side.score_mask, n, norm_q, norm_t, loss)
            surrogate = (d * g_disc[rows].to(d)).sum() + (g * g_gen[rows].to(g)).sum()
            if ntp:
                surrogate = surrogate + weighted(ntp, loss)
            acc.backward(surrogate)
        for k, v in ntp.items():
            logged[k] = logged.get(k, 0.0) + float(v.detach())
        start += n
    return logged


# ----- data position --------------------------------------------------------------------------
class BatchOrder:
    """Deterministic global batches per epoch; the position (epoch, index) is checkpointed."""

    def __init__(self, pairs: list[SFTPair], cfg: DataConfig, seed: int, world: int):
        if cfg.batch_size % world:
            raise InputError(f"data.batch_size ({cfg.batch_size}) must be divisible by the number "
                             f"of processes ({world})", field="data.batch_size")
        self.pairs, self.cfg, self.seed, self.world = pairs, cfg, seed, world
        self.epoch, self.index = 0, 0
        self._cache: tuple[int, list[list[int]]] | None = None
        self.left_out = 0

    def batches(self, epoch: int) -> list[list[int]]:
        if self._cache is None or self._cache[0] != epoch:
            group = self.cfg.group_size or self.cfg.batch_size // self.world
            b, self.left_out = group_batches([p.dataset for p in self.pairs], self.cfg.batch_size,
                                             group_size=group, order=self.cfg.order,
                                             seed=self.seed, epoch=epoch)
            if not b:
                raise InputError(f"not enough pairs for one batch of {self.cfg.batch_size} "
                                 f"(groups of {group} pairs of one dataset)", field="data.batch_size")
            self._cache = (epoch, b)
        return self._cache[1]

    def next(self, rank: int) -> list[SFTPair]:
        """This process's share of the next global batch."""
        if self.index >= len(self.batches(self.epoch)):
            self.epoch, self.index = self.epoch + 1, 0
        batch = self.batches(self.epoch)[self.index]
        self.index += 1
        per = len(batch) // self.world
        return [self.pairs[i] for i in batch[rank * per:(rank + 1) * per]]

    def state(self) -> dict:
        return {"epoch": self.epoch, "index": self.index}

    def load(self, state: dict) -> None:
        self.epoch, self.index = int(state["epoch"]), int(state["index"])


# ----- the trainer --------------------------------------------------------------------------
def train(cfg: SFTConfig, resume: bool | str = False) -> dict:
    """Run SFT; returns a summary. `resume`: True = latest checkpoint of output_dir, or a path."""
    acc = build_accelerator(cfg)
    out = Path(cfg.train.output_dir)
    if cfg.loss.grad_cache_chunk and acc.distributed_type.name == "DEEPSPEED":
        raise InputError("GradCache needs several backward passes per step, which DeepSpeed's "
                         "engine does not allow; use DDP or FSDP", field="loss.grad_cache_chunk")
    pairs = read_sft(cfg.data.train_file, cfg.data.data_root, check_files=cfg.data.check_files)
    ume = load_model(cfg.model)
    if cfg.loss.con_genq_disct or cfg.loss.con_discq_gent:
        # Trained to compare gen with disc: saved so the harness, index and server allow mixing.
        ume.settings = replace(ume.settings, spaces_aligned=True)
    collator = SFTCollator(ume.processor, ume.settings, gen_id=ume.ids.gen, disc_id=ume.ids.disc,
                           max_length=cfg.data.max_length)
    tf = TeacherForced(ume.model)
    optimizer = make_optimizer(trainable_parameters(tf), cfg.optim)
    scheduler = make_scheduler(optimizer, cfg.optim, cfg.train.steps)
    tf, optimizer, scheduler = acc.prepare(tf, optimizer, scheduler)
    order = BatchOrder(pairs, cfg.data, cfg.train.seed, acc.num_processes)

    step = 0
    clean_partial(out, acc)
    if resume:
        ckpt = latest_checkpoint(out) if resume is True else Path(resume)
        if ckpt is None:
            log.warning("no checkpoint in %s: starting from the beginning", out)
        else:
            state = load_checkpoint(acc, ckpt)
            step = state["step"]
            order.load(state["data"])
    if acc.is_main_process:
        out.mkdir(parents=True, exist_ok=True)
        save_resolved(cfg, out)
        write_json(out / "run.json", {
            "base_model": cfg.model.base, "num_processes": acc.num_processes,
            "effective_contrastive_batch": cfg.data.batch_size,
            "pairs_per_optimizer_step": cfg.data.batch_size * cfg.optim.grad_accum,
            "loss_weights": {k: v for k, v in to_dict(cfg.loss).items()
                             if k not in ("temperature", "grad_cache_chunk")},
            "temperature": cfg.loss.temperature, "train_pairs": len(pairs),
            "trainable_parameters": sum(p.numel() for p in trainable_parameters(tf))})
    if cfg.train.trackers:
        acc.init_trackers("umer1-sft", config=_flat(to_dict(cfg)))
    metrics = MetricsLog(out / "metrics.jsonl", acc.is_main_process, resume_step=step)

    t0, dropped_total = time.time(), 0
    bar = progress(total=cfg.train.steps, desc="sft", enabled=cfg.train.progress_bar and acc.is_main_process)
    bar.update(step)
    tf.train()
    while step < cfg.train.steps:
        sums: dict[str, float] = {}
        pairs_seen = dropped = 0
        for _ in range(cfg.optim.grad_accum):
            local = order.next(acc.process_index)
            chunk = cfg.loss.grad_cache_chunk or len(local)
            chunks = [collator(local[i:i + chunk]) for i in range(0, len(local), chunk)]
            dropped += sum(c.dropped for c in chunks)
            chunks = [c for c in chunks if c.side is not None]
            if not chunks:
                raise InputError("every pair of a batch was dropped by data.max_length: raise it",
                                 field="data.max_length")
            chunks = [dataclasses.replace(c, side=c.side.to(acc.device)) for c in chunks]
            pairs_seen += sum(len(c) for c in chunks)
            with acc.accumulate(tf):
                terms = micro_step(acc, tf, chunks, cfg.loss)
            for k, v in terms.items():
                sums[k] = sums.get(k, 0.0) + v / cfg.optim.grad_accum
        grad_norm = None
        if cfg.optim.max_grad_norm > 0:
            grad_norm = acc.clip_grad_norm_(tf.parameters(), cfg.optim.max_grad_norm)
        lr = scheduler.get_last_lr()[0]  # the rate this step uses
        optimizer.step()
        scheduler.step()
        optimizer.zero_grad(set_to_none=True)
        step += 1
        dropped_total += dropped
        terms = reduce_mean(acc, sums)
        row = {"step": step, "loss": sum(getattr(cfg.loss, k) * v for k, v in terms.items()),
               **terms, "lr": lr,
               "grad_norm": None if grad_norm is None else float(grad_norm),
               "pairs": int(all_sum(acc, pairs_seen)), "dropped": int(all_sum(acc, dropped)),
               "epoch": order.epoch, "elapsed_s": round(time.time() - t0, 3)}
        if step % cfg.train.log_every == 0 or step == cfg.train.steps:
            metrics.write(row)
            if cfg.train.trackers:
                acc.log({k: v for k, v in row.items() if v is not None}, step=step)
        bar.set_postfix(loss=f"{row['loss']:.4f}")
        bar.update(1)
        if cfg.train.save_every and step % cfg.train.save_every == 0 and step < cfg.train.steps:
            save_checkpoint(acc, out, step, wrapped=tf, processor=ume.processor, settings=ume.settings,
                            config=cfg, trainer_state={"data": order.state()},
                            keep_last=cfg.train.keep_last)
    bar.close()
    save_checkpoint(acc, out, step, wrapped=tf, processor=ume.processor, settings=ume.settings,
                    config=cfg, trainer_state={"data": order.state()}, keep_last=cfg.train.keep_last)
    save_model_dir(acc, tf, ume.processor, ume.settings, cfg, out / "final")
    if cfg.train.trackers:
        acc.end_training()
    summary = {"steps": step, "output_dir": str(out), "final_model": str(out / "final"),
               "dropped_pairs": dropped_total, "left_out_per_epoch": order.left_out}
    if acc.is_main_process:
        if cfg.train.plot and (out / "metrics.jsonl").is_file():
            from umer1.utils.plots import plot_losses
            summary["plot"] = str(plot_losses(out / "metrics.jsonl", out / "losses.png"))
        write_json(out / "summary.json", summary)
    return summary


def _flat(d: dict, prefix: str = "") -> dict:
    flat = {}
    for k, v in d.items():
        if isinstance(v, dict):
            flat.update(_flat(v, f"{prefix}{k}."))
        else:
            flat[prefix + k] = v if isinstance(v, (int, float, str, bool)) else json.dumps(v)
    return flat
