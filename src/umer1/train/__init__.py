"""Training: the SFT trainer, its collator, checkpoints and shared loop helpers."""
