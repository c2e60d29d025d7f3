"""The RL trainer (spec section 5): GRPO with the rank x gap embedding reward, on the shared
run loop (`umer1.train.base`).

One step, for the N pairs this process holds:
1. Rollouts. Each side (queries, targets) is rendered with the inference prompt format and
   G completions per prompt are sampled in ONE batched generate (`UMEModel.generate_batch`,
   vision tokens suppressed), or by the optional vLLM backend.
2. ONE teacher-forced forward per side over prompt + completion (every visual tensor passed,
   videos included) gives the completion token log-probs AND the state at each generated
   `<gen_emb>` (`umer1.train.rl.scoring`).
3. Rewards (`umer1.train.rl.rewards`): format + rank x gap; negatives are the other side's
   rollouts of every other pair, gathered from all processes. Advantages are normalised per
   group of G.
4. Loss (`umer1.train.rl.grpo`); the step loss is (query loss + target loss) / 2.
5. With `grpo.num_iterations` > 1 the same rollouts are reused for further updates against
   the log-probs of the first pass ("old" policy).

`optim.grad_accum` micro-batches make one update; each micro-batch's loss is scaled by
1 / grad_accum here (the accelerator counts no accumulation), since later iterations replay the
stored micro-batches. A pair whose query or target prompt is longer than
`rollout.max_prompt_length` tokens (images included) is skipped before generation, replaced by
the next pair of the stream, and counted.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

import torch

from umer1.data.rl import read_rl_pairs
from umer1.engine.forward import TeacherForced
from umer1.engine.processing import load_prompt, processor_batch
from umer1.train.base.dist import gather_ints
from umer1.train.base.model import load_frozen, load_model
from umer1.train.base.trainer import Trainer
from umer1.train.rl.config import RLConfig
from umer1.train.rl.rollouts import PairStream, SideRollout, completion_batch, repeat_rows
from umer1.train.rl.scoring import Scoring
from umer1.train.rl.signal import check_learning_signal
from umer1.utils.errors import InputError

log = logging.getLogger(__name__)


class RLTrainer(Scoring, Trainer):
    stage = "rl"
    plot_file = "curves.png"
    plot_keys = ("reward", "format_rate", "reward_emb", "rank", "gap", "kl", "zero_spread_groups",
                 "completion_length", "missing_gen_emb")
    plot_panels = True
    cfg: RLConfig

    def __init__(self, cfg: RLConfig, pairs=None, *, resume: bool | str | Path = False,
                 overwrite: bool = False, accelerator=None):
        self._given_pairs = pairs    # tests and benchmarks may pass pairs already read
        self.signal_history: list[dict] = []   # metric rows of steps 1..grpo.stop_without_signal
        super().__init__(cfg, resume=resume, overwrite=overwrite, accelerator=accelerator)

    def accumulation_steps(self) -> int:
        return 1

    def setup(self) -> None:
        cfg, acc = self.cfg, self.acc
        self.pairs = self._given_pairs if self._given_pairs is not None else read_rl_pairs(
            cfg.data.train_file, cfg.data.data_root, check_files=cfg.data.check_files)
        if len(self.pairs) < acc.num_processes:
            raise InputError(f"{len(self.pairs)} pairs cannot feed {acc.num_processes} processes",
                             file=cfg.data.train_file)
        self.ume = load_model(cfg.model, add_missing_tokens=False)
        self.ids, self.settings, self.processor = self.ume.ids, self.ume.settings, self.ume.processor
        self.ref = None
        if cfg.grpo.beta > 0:   # beta = 0: no reference model at all
            ref = load_frozen(cfg.grpo.reference or cfg.model.base, cfg.model)
            self.ref = TeacherForced(ref.model).to(acc.device).eval()
        per_step = cfg.data.pairs_per_device * cfg.optim.grad_accum * acc.num_processes
        self.prepare(TeacherForced(self.ume.model), len(self.pairs) / per_step,
                     updates_per_step=cfg.grpo.num_iterations)
        self.stream = PairStream(len(self.pairs), cfg.train.seed, acc.process_index, acc.num_processes)
        self.backend = None
        if cfg.rollout.backend == "vllm":
            from umer1.train.rl.vllm_backend import VLLMRollouts
            self.backend = VLLMRollouts(self)
        log.info("RL: %d steps of %d pairs x %d processes x %d accumulation, G=%d", self.total_steps,
                 cfg.data.pairs_per_device, acc.num_processes, cfg.optim.grad_accum,
                 cfg.rollout.num_generations)

    @property
    def policy(self):
        return self.acc.unwrap_model(self.wrapped).model

    # ----- rollouts --------------------------------------------------------------------------
    def _prompts(self, items):
        return [load_prompt(it, self.settings, max_image_pixels=self.ume.max_image_pixels,
                            resize_factor=self.ume.backbone.resize_factor) for it in items]

    def next_pairs(self) -> tuple[list, int]:
        """N pairs for this process, skipping (and counting) pairs with an over-long prompt."""
        n, limit = self.cfg.data.pairs_per_device, self.cfg.rollout.max_prompt_length
        chosen, skipped = [], 0
        while len(chosen) < n:
            cand = [self.pairs[self.stream.next()] for _ in range(n - len(chosen))]
            if limit is None:
                chosen += cand
                continue
            for side in ("query", "target"):
                if not cand:
                    break
                prompts = self._prompts([getattr(p, side) for p in cand])
                lengths = processor_batch(self.processor, prompts, self.settings)["attention_mask"].sum(1)
                keep = [p for p, n_tok in zip(cand, lengths.tolist()) if n_tok <= limit]
                skipped += len(cand) - len(keep)
                cand = keep
            chosen += cand
            if skipped > 100 * n:
                raise InputError(f"almost every pair has a prompt over max_prompt_length={limit} "
                                 "tokens", field="rollout.max_prompt_length")
        if skipped:
            log.warning("skipped %d pairs whose prompt exceeds %d tokens", skipped, limit)
        return chosen, skipped

    def prompt_batch(self, items):
        """Processor batch (left padded) for the prompts."""
        prompts = self._prompts(items)
        batch = processor_batch(self.processor, prompts, self.settings).to(self.acc.device)
        return batch, prompts

    def sample(self, items, seed: int) -> list[torch.Tensor]:
        """G sampled completions per item (token ids, each ending with its stop token)."""
        if self.backend is not None:
            return self.backend.generate(self._prompts(items), seed)
        batch, _ = self.prompt_batch(items)
        torch.manual_seed(seed)
        policy = self.policy
        was_training = policy.training
        policy.eval()
        try:
            g = self.ume.generate_batch(batch, self.cfg.rollout.params(), model=policy,
                                        force_gen_emb=False, want_disc=False)
        finally:
            policy.train(was_training)
        return [g.new_tokens[i, :int(g.num_new_tokens[i])] for i in range(g.new_tokens.shape[0])]

    def side_rollout(self, items, completions: list[torch.Tensor]) -> SideRollout:
        """The teacher-forced batch of one side from its prompts and N x G completions."""
        G = len(completions) // len(items)
        batch, prompts = self.prompt_batch(items)
        rep = repeat_rows(batch, [len(p.images) for p in prompts], [len(p.videos) for p in prompts], G)
        tf, score_mask, texts = completion_batch(
            rep, completions, gen_id=self.ids.gen, pad_id=self.ids.pad,
            max_completion_length=self.cfg.rollout.max_completion_length,
            tokenizer=self.processor.tokenizer)
        return SideRollout(tf, score_mask, batch["input_ids"].shape[1], texts,
                           torch.tensor([len(c) for c in completions]), len(items), G)

    # ----- one step ----------------------------------------------------------------------------
    def train_step(self, rollouts=None) -> dict:
        """One rollout step: grad_accum micro-batches, `num_iterations` optimiser updates.

        `rollouts` (tests, benchmarks) may give the micro-batches as a list of
        (query SideRollout, target SideRollout); by default they are sampled here.
        """
        cfg = self.cfg
        ga = cfg.optim.grad_accum
        self.wrapped.train()
        metrics, kept, stored = [], [], []
        for micro in range(ga):
            t0 = time.perf_counter()
            skipped = 0
            if rollouts is None:
                pairs, skipped = self.next_pairs()
                seed = cfg.train.seed * 1_000_003 + (self.step * ga + micro) * 1009 + self.acc.process_index
                q_items, t_items = [p.query for p in pairs], [p.target for p in pairs]
                q_roll = self.side_rollout(q_items, self.sample(q_items, seed))
                t_roll = self.side_rollout(t_items, self.sample(t_items, seed + 7919))
            else:
                q_roll, t_roll = rollouts[micro]
            t_gen = time.perf_counter() - t0
            m, keep = self.first_pass(q_roll, t_roll, 1.0 / ga, sync=micro == ga - 1)
            m.update(time_generation=t_gen, skipped_long_prompts=skipped)
            metrics.append(m)
            if cfg.grpo.num_iterations > 1:
                kept.append(keep)
                stored.append((q_roll, t_roll))
        grad_norm, lr = self.update()
        for _ in range(1, cfg.grpo.num_iterations):
            for micro, ((q_roll, t_roll), keep) in enumerate(zip(stored, kept)):
                self.later_pass(q_roll, t_roll, keep, 1.0 / ga, sync=micro == ga - 1)
            self.update()
        self.step += 1
        row = {"step": self.step, **self.reduce_metrics(metrics), "grad_norm": grad_norm, "lr": lr}
        probe = cfg.grpo.stop_without_signal
        if self.step <= probe:   # metrics are reduced over processes: every process stops together
            self.signal_history.append(row)
            check_learning_signal(self.signal_history, probe)
        return row

    def trainer_state(self) -> dict:
        return {"positions": gather_ints(self.acc, self.stream.position)}

    def load_trainer_state(self, state: dict) -> None:
        self.stream.position = state["positions"][self.acc.process_index]

    def run_info(self) -> dict:
        cfg = self.cfg
        return {"train_pairs": len(self.pairs),
                "pairs_per_optimizer_step": cfg.data.pairs_per_device * cfg.optim.grad_accum
                * self.acc.num_processes, "num_generations": cfg.rollout.num_generations}

    def postfix(self, row: dict) -> dict:
        return {"reward": f"{row['reward']:.4f}", "format": f"{row['format_rate']:.2f}",
                "missing": row["missing_gen_emb"]}


def run(cfg: RLConfig, *, resume: bool | str | Path = False, overwrite: bool = False) -> dict:
    """Run RL into `cfg.train.output_dir`; returns the summary (also written to summary.json).

    `resume`: True = the latest checkpoint of the folder, or a checkpoint path. A folder that
    already holds a run needs `resume` or `overwrite` (which deletes it first)."""
    return RLTrainer(cfg, resume=resume, overwrite=overwrite).fit()
