"""The SFT trainer: the shared run loop (`umer1.train.base`) with SFT's data order and step.

`optim.grad_accum` micro-steps (accelerate's `accumulate`) make one update; accumulation sums
gradients, it adds NO in-batch negatives. Embeddings are gathered over processes with their
gradient kept, so several processes give the update of one process holding the whole batch.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path

from umer1.data.sft import SFTPair, group_batches, read_sft
from umer1.engine.forward import TeacherForced
from umer1.train.base.dist import all_sum, reduce_mean
from umer1.train.base.model import load_model
from umer1.train.base.trainer import Trainer
from umer1.train.sft.collate import SFTCollator
from umer1.train.sft.config import SFTConfig, SFTDataConfig
from umer1.train.sft.step import micro_step
from umer1.utils.config import to_dict
from umer1.utils.errors import InputError


class BatchOrder:
    """Deterministic global batches per epoch; the position (epoch, index) is checkpointed."""

    def __init__(self, pairs: list[SFTPair], cfg: SFTDataConfig, seed: int, world: int):
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


class SFTTrainer(Trainer):
    stage = "sft"
    plot_file = "losses.png"
    plot_keys = ("loss", "con_gen", "con_disc", "ntp_query", "ntp_target", "con_genq_disct",
                 "con_discq_gent")
    plot_title = "SFT loss terms"
    cfg: SFTConfig

    def setup(self) -> None:
        cfg, acc = self.cfg, self.acc
        if cfg.loss.grad_cache_chunk and acc.distributed_type.name == "DEEPSPEED":
            raise InputError("GradCache needs several backward passes per step, which DeepSpeed's "
                             "engine does not allow; use DDP or FSDP", field="loss.grad_cache_chunk")
        self.pairs = read_sft(cfg.data.train_file, cfg.data.data_root, check_files=cfg.data.check_files)
        self.order = BatchOrder(self.pairs, cfg.data, cfg.train.seed, acc.num_processes)
        batches = len(self.order.batches(0))     # too few pairs for one batch: fails here
        self.ume = load_model(cfg.model, add_missing_tokens=True)
        if cfg.loss.con_genq_disct or cfg.loss.con_discq_gent:
            # Trained to compare gen with disc: saved so the harness, index and server allow mixing.
            self.ume.settings = dataclasses.replace(self.ume.settings, spaces_aligned=True)
        self.collator = SFTCollator(self.ume.processor, self.ume.settings, gen_id=self.ume.ids.gen,
                                    disc_id=self.ume.ids.disc, max_length=cfg.data.max_length)
        self.prepare(TeacherForced(self.ume.model), batches / cfg.optim.grad_accum)
        self.dropped_total = 0

    def train_step(self) -> dict:
        cfg, acc = self.cfg, self.acc
        ga = cfg.optim.grad_accum
        self.wrapped.train()
        sums: dict[str, float] = {}
        pairs_seen = dropped = 0
        for _ in range(ga):
            local = self.order.next(acc.process_index)
            chunk = cfg.loss.grad_cache_chunk or len(local)
            chunks = [self.collator(local[i:i + chunk]) for i in range(0, len(local), chunk)]
            dropped += sum(c.dropped for c in chunks)
            chunks = [c for c in chunks if c.side is not None]
            if not chunks:
                raise InputError("every pair of a batch was dropped by data.max_length: raise it",
                                 field="data.max_length")
            chunks = [dataclasses.replace(c, side=c.side.to(acc.device)) for c in chunks]
            pairs_seen += sum(len(c) for c in chunks)
            with acc.accumulate(self.wrapped):
                terms = micro_step(acc, self.wrapped, chunks, cfg.loss)
            for k, v in terms.items():
                sums[k] = sums.get(k, 0.0) + v / ga
        grad_norm, lr = self.update()
        self.step += 1
        self.dropped_total += dropped
        terms = reduce_mean(acc, sums)
        return {"step": self.step, "loss": sum(getattr(cfg.loss, k) * v for k, v in terms.items()),
                **terms, "lr": lr, "grad_norm": grad_norm,
                "pairs": int(all_sum(acc, pairs_seen)), "dropped": int(all_sum(acc, dropped)),
                "epoch": self.order.epoch}

    def trainer_state(self) -> dict:
        return {"data": self.order.state()}

    def load_trainer_state(self, state: dict) -> None:
        self.order.load(state["data"])

    def run_info(self) -> dict:
        cfg = self.cfg
        return {"effective_contrastive_batch": cfg.data.batch_size,
                "pairs_per_optimizer_step": cfg.data.batch_size * cfg.optim.grad_accum,
                "loss_weights": {k: v for k, v in to_dict(cfg.loss).items()
                                 if k not in ("temperature", "grad_cache_chunk")},
                "temperature": cfg.loss.temperature, "train_pairs": len(self.pairs)}

    def summary(self) -> dict:
        return {"dropped_pairs": self.dropped_total, "left_out_per_epoch": self.order.left_out}


def run(cfg: SFTConfig, *, resume: bool | str | Path = False, overwrite: bool = False) -> dict:
    """Run SFT into `cfg.train.output_dir`; returns the summary (also written to summary.json).

    `resume`: True = the latest checkpoint of the folder, or a checkpoint path. A folder that
    already holds a run needs `resume` or `overwrite` (which deletes it first)."""
    return SFTTrainer(cfg, resume=resume, overwrite=overwrite).fit()
