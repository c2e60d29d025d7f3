"""Optional vLLM rollout backend for the RL stage (`rollout.backend: vllm`; GPU only).

vLLM only samples the completions. The log-probs for the loss and the `<gen_emb>` embeddings
for the reward still come from the trainer's own teacher-forced forward, so the reward and
loss are exactly those of the default backend. vLLM is imported only when this backend is
chosen; it is not a dependency of the package and the tests do not use it.

How it works: one colocated vLLM engine per process loads the starting checkpoint; before each
rollout step after the first, the policy's current weights are copied into the engine
(`load_weights`). Vision tokens are suppressed with a logit bias; sampling stops at `<gen_emb>`
or an end-of-turn token, and the end-of-turn token is appended after `<gen_emb>` as the default
backend forces it (the scored tokens are the same). Limits: the weight copy needs the full
state dict on every process (fine for DDP, not for ZeRO-3 / FSDP sharding), and the engine's
internal path to the model (`llm_engine.model_executor...`) changes between vLLM versions:
`_engine_model` below is the one place to adapt.
"""
from __future__ import annotations

import logging

import torch

from umer1.utils.errors import InputError

log = logging.getLogger(__name__)


class VLLMRollouts:
    def __init__(self, trainer):
        try:
            from vllm import LLM
        except ImportError:
            raise InputError("rollout.backend 'vllm' needs vLLM installed (pip install vllm) and a GPU",
                             field="rollout.backend") from None
        cfg = trainer.cfg
        self.trainer = trainer
        self.llm = LLM(model=cfg.model.base, dtype=cfg.model.dtype, seed=cfg.train.seed,
                       gpu_memory_utilization=cfg.rollout.vllm_gpu_memory_utilization,
                       max_model_len=(cfg.rollout.max_prompt_length or 8192) + cfg.rollout.max_completion_length + 8,
                       limit_mm_per_prompt={"image": 8, "video": 1}, enable_prefix_caching=True)
        self.synced_step = trainer.step

    def _engine_model(self):
        return self.llm.llm_engine.model_executor.driver_worker.model_runner.model

    @torch.no_grad()
    def sync_weights(self) -> None:
        policy = self.trainer.acc.unwrap_model(self.trainer.wrapped).model
        if hasattr(policy, "merge_and_unload"):       # PEFT: send merged weights, keep the adapter
            raise InputError("the vLLM backend does not support LoRA training yet; use backend 'hf'",
                             field="rollout.backend")
        self._engine_model().load_weights(policy.state_dict().items())
        self.synced_step = self.trainer.step

    def generate(self, prompts, seed: int) -> list[torch.Tensor]:
        """G completions per prompt (`umer1.engine.prompts.Prompt`), as token ids in the trainer's format."""
        import numpy as np
        from vllm import SamplingParams

        if self.trainer.step != self.synced_step:
            self.sync_weights()
        r, ids = self.trainer.cfg.rollout, self.trainer.ids
        # every sampling parameter explicit (top_k -1 = off), none from the checkpoint's generation_config
        params = SamplingParams(n=r.num_generations, temperature=r.temperature, top_p=r.top_p,
                                top_k=r.top_k if r.top_k > 0 else -1, min_p=0.0, repetition_penalty=1.0,
                                max_tokens=r.max_completion_length, seed=seed,
                                stop_token_ids=[ids.gen, *ids.eos],
                                logit_bias={t: -100.0 for t in ids.vision})
        requests = []
        for p in prompts:
            mm = {}
            if p.images:
                mm["image"] = p.images if len(p.images) > 1 else p.images[0]
            if p.videos:
                mm["video"] = np.stack([np.asarray(f) for f in p.videos[0]])
            requests.append({"prompt": p.text, "multi_modal_data": mm} if mm else {"prompt": p.text})
        outputs = self.llm.generate(requests, params, use_tqdm=False)
        completions = []
        for req in outputs:
            for o in req.outputs:
                tokens = list(o.token_ids)
                if tokens and tokens[-1] == ids.gen:
                    tokens.append(ids.eos[0])        # the end of turn the HF backend forces
                elif len(tokens) >= r.max_completion_length:
                    tokens.append(ids.eos[0])        # budget spent: end the turn (not scored)
                completions.append(torch.tensor(tokens, dtype=torch.long))
        return completions
