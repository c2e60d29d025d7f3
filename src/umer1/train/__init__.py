"""Training: `umer1.train.sft` (cold start) and `umer1.train.rl` (GRPO), both on the shared
run loop of `umer1.train.base`."""
