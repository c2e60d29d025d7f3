"""What the SFT and RL trainers share: config sections and their validation (`config`), model
loading (`model`), optimiser and schedule (`optim`), reductions over processes (`dist`),
checkpoints (`checkpoint`), the run folder (`run`), metrics (`metrics`) and the run loop
(`trainer`)."""
