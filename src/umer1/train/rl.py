"""The RL stage of UME-R1 (spec section 5): GRPO with the rank x gap embedding reward.

One step, for the N pairs this process holds:
1. Rollouts. Each side (queries, targets) is rendered with the inference prompt format and
   G completions per prompt are sampled in ONE batched `generate` (vision tokens suppressed).
2. ONE teacher-forced forward per side over prompt + completion (`umer1.engine.forward.TeacherForced`,
   every visual tensor passed, videos included) gives the completion token log-probs AND the
   state at each generated `<gen_emb>` (`umer1.engine.positions.gen_positions`).
3. Rewards (`umer1.train.rewards`): format + rank x gap; negatives are the other side's rollouts of
   every other pair, gathered from all processes. Advantages are normalised per group of G.
4. Loss per token: -min(r A, clip(r, 1 - eps_low, 1 + eps_high) A) + beta * k3 KL to a frozen
   reference; a sequence sums its tokens and divides by the constant max completion length;
   the side loss is the mean over rollouts; the step loss is (query loss + target loss) / 2.
5. With `num_iterations` > 1 the same rollouts are reused for further updates against the
   log-probs of the first pass ("old" policy).

Explicit rules for what the reference leaves undefined (spec section 8):
- A rollout that never generates `<gen_emb>` has NO embedding: its embedding reward is 0, it is
  left out of other rollouts' positives and negatives (`umer1.train.rewards`), and it is counted
  (`missing_gen_emb`). Its format reward is 0 too, so its advantage is below its group's mean.
- Scored tokens are the ones the policy sampled: up to and including `<gen_emb>` (the end-of-turn
  token forced after it is not scored), or up to the natural stop, or the first
  `max_completion_length` tokens of a rollout cut off by the budget.
- A pair whose query or target prompt is longer than `max_prompt_length` tokens (images
  included) is skipped before generation, replaced by the next pair of the stream, and counted.
"""
from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import torch

from umer1.engine.params import GenParams
from umer1.engine.positions import gen_positions, normalize
from umer1.engine.forward import TeacherForced
from umer1.engine.processing import load_prompt, processor_batch
from umer1.train.rewards import VARIANTS, both_sides, format_reward, zero_spread_fraction
from umer1.train.loop import LoraSettings, OptimSettings

log = logging.getLogger(__name__)


# ----- configuration ------------------------------------------------------------------------
@dataclass
class ModelConfig:
    base: str = ""                          # the SFT checkpoint (a UME model directory or hub id)
    dtype: str = "float32"                  # float32 | bfloat16 | float16
    attn_implementation: str | None = None
    freeze_vision: bool = True
    gradient_checkpointing: bool = False
    lora: LoraSettings = field(default_factory=LoraSettings)
    max_pixels: int | None = None           # overrides of the checkpoint's EmbeddingSettings
    video_max_pixels: int | None = None
    video_frames: int | None = None


@dataclass
class DataConfig:
    train_file: str = ""                    # UME-rl-train JSONL
    data_root: str | None = None            # default: the JSONL's folder
    check_files: bool = True


@dataclass
class RolloutConfig:
    num_generations: int = 8                # G, per prompt and per side
    temperature: float = 1.0
    top_p: float = 1.0
    max_completion_length: int = 2048       # also the loss normaliser
    max_prompt_length: int | None = None    # tokens, visuals included; longer pairs are skipped
    top_k: int = 0                          # 0 = off (never the checkpoint's top_k=1)
    backend: Literal["hf", "vllm"] = "hf"
    vllm_gpu_memory_utilization: float = 0.3

    def params(self) -> GenParams:
        """Exactly these sampling parameters, every one passed to generate explicitly."""
        return GenParams(max_new_tokens=self.max_completion_length, temperature=self.temperature,
                         top_p=self.top_p, top_k=self.top_k, num_samples=self.num_generations)


@dataclass
class RewardConfig:
    variant: str = "rank_x_gap"             # rank_x_gap | rank | gap | threshold
    threshold: float = 0.5                  # for the "threshold" variant


@dataclass
class GRPOConfig:
    beta: float = 0.04                      # KL coefficient; 0 loads no reference model
    reference: str | None = None            # default: model.base
    epsilon_low: float = 0.2
    epsilon_high: float = 0.28
    num_iterations: int = 1                 # policy updates per rollout batch


@dataclass
class TrainConfig:
    output_dir: str = "runs/rl"
    pairs_per_device: int = 16              # N pairs per process per micro-step
    epochs: float = 1.0
    max_steps: int | None = None            # rollout steps; default from epochs and data size
    seed: int = 0
    save_every: int = 100
    keep_last: int = 2
    mixed_precision: Literal["no", "bf16", "fp16"] = "no"
    cpu: bool = False
    plot: bool = True


@dataclass
class RLConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    rollout: RolloutConfig = field(default_factory=RolloutConfig)
    reward: RewardConfig = field(default_factory=RewardConfig)
    grpo: GRPOConfig = field(default_factory=GRPOConfig)
    # optim.grad_accum micro-batches of rollouts make one optimiser update (no extra negatives)
    optim: OptimSettings = field(default_factory=lambda: OptimSettings(
        lr=1e-6, warmup_ratio=0.0, schedule="constant"))
    train: TrainConfig = field(default_factory=TrainConfig)

    def check(self) -> None:
        from umer1.utils.errors import InputError
        if not self.model.base:
            raise InputError("required", field="model.base")
        if not self.data.train_file:
            raise InputError("required", field="data.train_file")
        if self.reward.variant not in VARIANTS:
            raise InputError(f"expected one of {', '.join(VARIANTS)}", field="reward.variant")
        for key, value, low in (("rollout.num_generations", self.rollout.num_generations, 2),
                                ("rollout.max_completion_length", self.rollout.max_completion_length, 1),
                                ("train.pairs_per_device", self.train.pairs_per_device, 1),
                                ("optim.grad_accum", self.optim.grad_accum, 1),
                                ("grpo.num_iterations", self.grpo.num_iterations, 1)):
            if value < low:
                raise InputError(f"must be at least {low}", field=key)
        if self.grpo.beta < 0:
            raise InputError("must be >= 0", field="grpo.beta")
        if self.rollout.temperature <= 0:
            raise InputError("GRPO samples: must be > 0", field="rollout.temperature")


# ----- the loss, as pure functions -----------------------------------------------------------
def k3_kl(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """Per-token k3 estimator of KL(pi || ref): exp(ref - logp) - (ref - logp) - 1 (>= 0)."""
    d = ref_logp - logp
    return torch.exp(d) - d - 1


def grpo_loss(logp: torch.Tensor, old_logp: torch.Tensor, advantages: torch.Tensor,
              mask: torch.Tensor, *, max_completion_length: int, epsilon_low: float = 0.2,
              epsilon_high: float = 0.28, beta: float = 0.0, ref_logp: torch.Tensor | None = None
              ) -> tuple[torch.Tensor, dict]:
    """Mean over rollouts of sum_t(clipped surrogate + beta * k3) / max_completion_length.

    logp, old_logp, ref_logp, mask: (R, L) (mask selects scored completion tokens);
    advantages: (R,).
    """
    mask = mask.to(logp.dtype)
    ratio = torch.exp(logp - old_logp)
    adv = advantages.to(logp.dtype).unsqueeze(1)
    surrogate = torch.minimum(ratio * adv, torch.clamp(ratio, 1 - epsilon_low, 1 + epsilon_high) * adv)
    per_token = -surrogate
    stats = {}
    if beta > 0:
        if ref_logp is None:
            raise ValueError("beta > 0 needs reference log-probs")
        kl = k3_kl(logp, ref_logp)
        per_token = per_token + beta * kl
        stats["kl"] = float((kl.detach() * mask).sum() / mask.sum().clamp(min=1))
    clipped = ((ratio.detach() < 1 - epsilon_low) | (ratio.detach() > 1 + epsilon_high)).to(mask.dtype)
    stats["clip_fraction"] = float((clipped * mask).sum() / mask.sum().clamp(min=1))
    loss = ((per_token * mask).sum(dim=1) / max_completion_length).mean()
    return loss, stats


# ----- rollouts ------------------------------------------------------------------------------
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


# ----- data stream ---------------------------------------------------------------------------
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


# ----- the trainer ---------------------------------------------------------------------------
class RLTrainer:
    def __init__(self, cfg: RLConfig, pairs=None, accelerator=None):
        from accelerate import Accelerator
        from accelerate.utils import DistributedDataParallelKwargs

        from umer1.data.rl import read_rl_pairs
        from umer1.engine.model import UMEModel
        from umer1.train.loop import (apply_lora, enable_gradient_checkpointing, freeze_vision_tower,
                                      make_optimizer, make_scheduler, trainable_parameters)

        cfg.check()
        self.cfg = cfg
        self.acc = accelerator or Accelerator(
            cpu=cfg.train.cpu, mixed_precision=cfg.train.mixed_precision,
            kwargs_handlers=[DistributedDataParallelKwargs(find_unused_parameters=False)])
        self.run_dir = Path(cfg.train.output_dir)
        self.pairs = pairs if pairs is not None else read_rl_pairs(
            cfg.data.train_file, cfg.data.data_root, check_files=cfg.data.check_files)
        if len(self.pairs) < self.acc.num_processes:
            from umer1.utils.errors import InputError
            raise InputError(f"{len(self.pairs)} pairs cannot feed {self.acc.num_processes} processes",
                             file=cfg.data.train_file)
        overrides = {k: getattr(cfg.model, k) for k in ("max_pixels", "video_max_pixels", "video_frames")
                     if getattr(cfg.model, k) is not None}
        load = dict(dtype=cfg.model.dtype, attn_implementation=cfg.model.attn_implementation, **overrides)
        self.ume = UMEModel.from_pretrained(cfg.model.base, **load)
        self.ids, self.settings, self.processor = self.ume.ids, self.ume.settings, self.ume.processor
        if cfg.model.freeze_vision:
            freeze_vision_tower(self.ume)          # the merger stays trainable, as in SFT
        if cfg.model.lora.enabled:
            apply_lora(self.ume, cfg.model.lora)
        if cfg.model.gradient_checkpointing:
            enable_gradient_checkpointing(self.ume)
        self.ref = None
        if cfg.grpo.beta > 0:   # beta = 0: no reference model at all
            ref = UMEModel.from_pretrained(cfg.grpo.reference or cfg.model.base, **load)
            ref.model.requires_grad_(False)
            self.ref = TeacherForced(ref.model).to(self.acc.device).eval()

        optimizer = make_optimizer(trainable_parameters(self.ume.model), cfg.optim)
        self.total_steps = self._total_steps()
        self.scheduler = make_scheduler(optimizer, cfg.optim, self.total_steps * cfg.grpo.num_iterations)
        # The scheduler is not prepared (accelerate would step it once per process), only saved.
        self.wrapped, self.optimizer = self.acc.prepare(TeacherForced(self.ume.model), optimizer)
        self.acc.register_for_checkpointing(self.scheduler)
        self.stream = PairStream(len(self.pairs), cfg.train.seed, self.acc.process_index,
                                 self.acc.num_processes)
        self.step = 0
        self.backend = None
        if cfg.rollout.backend == "vllm":
            from umer1.train.rl_vllm import VLLMRollouts
            self.backend = VLLMRollouts(self)

    def _total_steps(self) -> int:
        cfg = self.cfg.train
        if cfg.max_steps is not None:
            return cfg.max_steps
        per_step = cfg.pairs_per_device * self.cfg.optim.grad_accum * self.acc.num_processes
        return max(1, int(cfg.epochs * len(self.pairs) // per_step))

    @property
    def policy(self):
        return self.acc.unwrap_model(self.wrapped).model

    # ----- rollouts --------------------------------------------------------------------------
    def _prompts(self, items):
        return [load_prompt(it, self.settings, max_image_pixels=self.ume.max_image_pixels) for it in items]

    def next_pairs(self) -> tuple[list, int]:
        """N pairs for this process, skipping (and counting) pairs with an over-long prompt."""
        n, limit = self.cfg.train.pairs_per_device, self.cfg.rollout.max_prompt_length
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
                from umer1.utils.errors import InputError
                raise InputError(f"almost every pair has a prompt over max_prompt_length={limit} "
                                 "tokens", field="rollout.max_prompt_length")
        if skipped:
            log.warning("skipped %d pairs whose prompt exceeds %d tokens", skipped, limit)
        return chosen, skipped

    def prompt_batch(self, items):
        """Processor batch (left padded) for the prompts, each row repeated G times."""
        prompts = self._prompts(items)
        batch = processor_batch(self.processor, prompts, self.settings).to(self.acc.device)
        return batch, prompts

    def sample(self, items, seed: int) -> list[torch.Tensor]:
        """G sampled completions per item (token ids, each ending with its stop token)."""
        r = self.cfg.rollout
        if self.backend is not None:
            return self.backend.generate(self._prompts(items), seed)
        batch, _ = self.prompt_batch(items)
        torch.manual_seed(seed)
        policy = self.policy
        was_training = policy.training
        policy.eval()
        try:
            g = self.ume.generate_batch(batch, r.params(), model=policy, force_gen_emb=False,
                                        want_disc=False)
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

    # ----- forward, reward, loss ----------------------------------------------------------------
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

    def _reduce(self, metrics: list[dict]) -> dict:
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

    # ----- one step and the loop ---------------------------------------------------------------
    def train_step(self, rollouts=None) -> dict:
        """One rollout step: GA micro-batches, `num_iterations` optimiser updates.

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
        grad_norm = self._update()
        for _ in range(1, cfg.grpo.num_iterations):
            for micro, ((q_roll, t_roll), keep) in enumerate(zip(stored, kept)):
                self.later_pass(q_roll, t_roll, keep, 1.0 / ga, sync=micro == ga - 1)
            self._update()
        self.step += 1
        out = {"step": self.step, **self._reduce(metrics), "grad_norm": grad_norm,
               "lr": self.scheduler.get_last_lr()[0]}
        return out

    def _update(self) -> float:
        clip = self.cfg.optim.max_grad_norm
        norm = self.acc.clip_grad_norm_(self.wrapped.parameters(), clip) if clip > 0 else None
        self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return float(norm) if norm is not None else float("nan")

    def train(self) -> Path:
        from umer1.utils.config import save_resolved
        from umer1.train.loop import MetricsLog
        from umer1.train.checkpoint import (clean_partial, latest_checkpoint, load_checkpoint,
                                            save_checkpoint, save_model_dir)
        cfg, acc = self.cfg, self.acc
        metrics_path = self.run_dir / "metrics.jsonl"
        clean_partial(self.run_dir, acc)
        ckpt = latest_checkpoint(self.run_dir)
        if ckpt is not None:
            state = load_checkpoint(acc, ckpt)
            self.step = state["step"]
            self.stream.position = state["positions"][acc.process_index]
        mlog = MetricsLog(metrics_path, acc.is_main_process, resume_step=self.step)
        if acc.is_main_process:
            save_resolved(cfg, self.run_dir)
        log.info("RL: %d steps of %d pairs x %d processes x %d accumulation, G=%d", self.total_steps,
                 cfg.train.pairs_per_device, acc.num_processes, cfg.optim.grad_accum,
                 cfg.rollout.num_generations)
        while self.step < self.total_steps:
            m = self.train_step()
            mlog.write(m)
            if acc.is_main_process:
                log.info("step %d/%d reward %.4f format %.3f rank %.3f gap %.4f missing %d",
                         m["step"], self.total_steps, m["reward"], m["format_rate"], m["rank"],
                         m["gap"], m["missing_gen_emb"])
            if self.step % cfg.train.save_every == 0 or self.step == self.total_steps:
                positions = _gather_ints(acc, self.stream.position)
                save_checkpoint(acc, self.run_dir, self.step, wrapped=self.wrapped,
                                processor=self.processor, settings=self.settings, config=cfg,
                                trainer_state={"positions": positions}, keep_last=cfg.train.keep_last)
        final = self.run_dir / "final"
        save_model_dir(acc, self.wrapped, self.processor, self.settings, cfg, final)
        if acc.is_main_process and cfg.train.plot:
            plot_metrics(metrics_path, self.run_dir / "curves.png")
        return final


def _gather_ints(acc, value: int) -> list[int]:
    t = torch.tensor([value], dtype=torch.long, device=acc.device)
    return (acc.gather(t) if acc.num_processes > 1 else t).tolist()


PLOTTED = ("reward", "format_rate", "reward_emb", "rank", "gap", "kl", "zero_spread_groups",
           "completion_length", "missing_gen_emb")


def plot_metrics(metrics_path: Path, out: Path) -> Path | None:
    """One PNG with a panel per logged curve."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from umer1.utils.files import atomic_path
    from umer1.train.loop import read_metrics
    rows = read_metrics(metrics_path)
    keys = [k for k in PLOTTED if any(k in r for r in rows)]
    if not rows or not keys:
        return None
    cols = 3
    fig, axes = plt.subplots(-(-len(keys) // cols), cols, figsize=(4 * cols, 3 * -(-len(keys) // cols)),
                             squeeze=False)
    for ax, k in zip(axes.flat, keys):
        pts = [(r["step"], r[k]) for r in rows if k in r]
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="." if len(pts) < 50 else None)
        ax.set_title(k)
        ax.set_xlabel("step")
    for ax in list(axes.flat)[len(keys):]:
        ax.axis("off")
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png", dpi=80)
    plt.close(fig)
    return out
