"""Layer 1, the engine: the model, its prompt format, batches, the teacher-forced forward,
generation with capture and where each embedding is read. Everything above calls it."""
