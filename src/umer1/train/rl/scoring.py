"""Scoring of RL rollouts: one teacher-forced forward per side, rewards, GRPO loss, metrics.

A mixin of `RLTrainer` (it uses the trainer's accelerator, wrapped policy, reference model and
config). Rules the reference leaves open (spec section 8):
- A rollout that never generates `<gen_emb>` has NO embedding: its embedding reward is 0, it is
  left out of other rollouts' positives and negatives (`umer1.train.rl.rewards`), and it is
  counted (`missing_gen_emb`). Its format reward is 0 too, so its advantage is below its
  group's mean. (The reference silently used the prompt's `<gen_emb>`.)
- The log-probs for the loss and the embeddings for the reward come from the same forward.
"""
from __future__ import annotations

import contextlib
import time

import torch

from umer1.engine.positions import gen_positions, normalize
from umer1.train.rl.grpo import grpo_loss
from umer1.train.rl.rewards import both_sides, format_reward, zero_spread_fraction
from umer1.train.rl.rollouts import SideRollout


class Scoring:
    """Forward, reward and loss of a step's rollouts; mixed into `RLTrainer`."""

    def forward_side(self, roll: SideRollout):
        """Token log-probs and (N, G, D) normalised `<gen_emb>` embeddings + validity, one forward."""
        out = self.wrapped(roll.batch, roll.score_mask, temperature=self.cfg.rollout.temperature)
        pos = gen_positions(roll.batch["input_ids"], self.ids.gen, roll.prompt_len)
        valid = pos >= 0
        last = roll.prompt_len + roll.num_tokens.to(pos.device) - 1
        rows = torch.arange(pos.shape[0], device=out.hidden.device)
        states = out.hidden[rows, torch.where(valid, pos, last.clamp(min=0))]
        emb = normalize(states.detach()).reshape(roll.num_pairs, roll.num_generations, -1)
        return out.logprobs, emb, valid.reshape(roll.num_pairs, roll.num_generations)

    @torch.no_grad()
    def ref_logprobs(self, roll: SideRollout) -> torch.Tensor | None:
        if self.ref is None:
            return None
        return self.ref(roll.batch, roll.score_mask, temperature=self.cfg.rollout.temperature).logprobs

    def _gather(self, x: torch.Tensor) -> torch.Tensor:
        return self.acc.gather(x.contiguous()) if self.acc.num_processes > 1 else x

    def rewards(self, q_emb, t_emb, q_valid, t_valid, q_texts, t_texts):
        """Both sides' rewards; negatives gathered from every process."""
        N, G, _ = q_emb.shape
        q_all, t_all = self._gather(q_emb), self._gather(t_emb)
        qv_all = self._gather(q_valid.to(torch.uint8)).bool()
        tv_all = self._gather(t_valid.to(torch.uint8)).bool()
        own_index = self.acc.process_index * N + torch.arange(N, device=q_emb.device)
        q_fmt = format_reward(q_texts).reshape(N, G).to(q_emb.device)
        t_fmt = format_reward(t_texts).reshape(N, G).to(q_emb.device)
        qr, tr = both_sides(q_emb, t_emb, q_all, t_all, own_index, q_fmt, t_fmt, q_valid=q_valid,
                            t_valid=t_valid, q_all_valid=qv_all, t_all_valid=tv_all,
                            variant=self.cfg.reward.variant, threshold=self.cfg.reward.threshold)
        return qr, tr, q_all.shape[0]

    def side_loss(self, logp, old_logp, ref_logp, advantages, roll: SideRollout):
        g = self.cfg.grpo
        return grpo_loss(logp, old_logp, advantages.reshape(-1).to(logp.device), roll.score_mask,
                         max_completion_length=self.cfg.rollout.max_completion_length,
                         epsilon_low=g.epsilon_low, epsilon_high=g.epsilon_high, beta=g.beta,
                         ref_logp=ref_logp)

    def first_pass(self, q_roll: SideRollout, t_roll: SideRollout, scale: float, sync: bool = True):
        """Forward both sides, score, backward. Returns the metrics and what later updates need."""
        t0 = time.perf_counter()
        q_ref, t_ref = self.ref_logprobs(q_roll), self.ref_logprobs(t_roll)
        q_lp, q_emb, q_valid = self.forward_side(q_roll)
        t_lp, t_emb, t_valid = self.forward_side(t_roll)
        qr, tr, gathered = self.rewards(q_emb, t_emb, q_valid, t_valid, q_roll.texts, t_roll.texts)
        q_old, t_old = q_lp.detach(), t_lp.detach()   # one update: ratio 1, surrogate gradient
        q_loss, q_stats = self.side_loss(q_lp, q_old, q_ref, qr.advantages, q_roll)
        t_loss, t_stats = self.side_loss(t_lp, t_old, t_ref, tr.advantages, t_roll)
        loss = (q_loss + t_loss) / 2
        t1 = time.perf_counter()
        with contextlib.nullcontext() if sync else self.acc.no_sync(self.wrapped):
            self.acc.backward(loss * scale)
        t2 = time.perf_counter()
        metrics = self._metrics(qr, tr, q_valid, t_valid, q_roll, t_roll, q_stats, t_stats, loss)
        metrics.update(time_forward=t1 - t0, time_backward=t2 - t1, gathered_pairs=gathered)
        keep = dict(q_old=q_old, t_old=t_old, q_ref=q_ref, t_ref=t_ref,
                    q_adv=qr.advantages, t_adv=tr.advantages)
        return metrics, keep

    def later_pass(self, q_roll, t_roll, keep: dict, scale: float, sync: bool = True) -> dict:
        q_lp, _, _ = self.forward_side(q_roll)
        t_lp, _, _ = self.forward_side(t_roll)
        q_loss, q_stats = self.side_loss(q_lp, keep["q_old"], keep["q_ref"], keep["q_adv"], q_roll)
        t_loss, t_stats = self.side_loss(t_lp, keep["t_old"], keep["t_ref"], keep["t_adv"], t_roll)
        loss = (q_loss + t_loss) / 2
        with contextlib.nullcontext() if sync else self.acc.no_sync(self.wrapped):
            self.acc.backward(loss * scale)
        return {"clip_fraction": (q_stats["clip_fraction"] + t_stats["clip_fraction"]) / 2}

    def _metrics(self, qr, tr, q_valid, t_valid, q_roll, t_roll, q_stats, t_stats, loss) -> dict:
        both = lambda f: torch.cat([f(qr).flatten(), f(tr).flatten()]).float()
        lengths = torch.cat([q_roll.num_tokens, t_roll.num_tokens]).float()
        m = {
            "reward": both(lambda r: r.total).mean().item(),
            "reward_query": qr.total.mean().item(), "reward_target": tr.total.mean().item(),
            "format_rate": both(lambda r: r.fmt).mean().item(),
            "reward_emb": both(lambda r: r.emb.reward).mean().item(),
            "rank": both(lambda r: r.emb.rank).mean().item(),
            "gap": both(lambda r: r.emb.gap).mean().item(),
            "num_negatives": both(lambda r: r.emb.num_negatives).mean().item(),
            "zero_spread_groups": (zero_spread_fraction(qr.total) + zero_spread_fraction(tr.total)) / 2,
            "completion_length": lengths.mean().item(),
            "completion_length_max": lengths.max().item(),
            "missing_gen_emb": int((~q_valid).sum() + (~t_valid).sum()),
            "clip_fraction": (q_stats["clip_fraction"] + t_stats["clip_fraction"]) / 2,
            "loss": float(loss.detach()),
        }
        if "kl" in q_stats:
            m["kl"] = (q_stats["kl"] + t_stats["kl"]) / 2
        return m

    def reduce_metrics(self, metrics: list[dict]) -> dict:
        """Average the micro-steps, then the processes (counts are summed)."""
        keys = sorted({k for m in metrics for k in m})
        sums = {"missing_gen_emb", "skipped_long_prompts"}
        local = torch.tensor([sum(m.get(k, 0.0) for m in metrics) / (1 if k in sums else len(metrics))
                              for k in keys], dtype=torch.float64, device=self.acc.device)
        if self.acc.num_processes > 1:
            local = self.acc.reduce(local, reduction="sum")
        out = {}
        for k, v in zip(keys, local.tolist()):
            # counts are totals; everything else (max length included) the mean over processes
            out[k] = int(round(v)) if k in sums else v / self.acc.num_processes
        return out
