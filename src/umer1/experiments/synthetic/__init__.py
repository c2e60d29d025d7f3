"""Synthetic reasoning-retrieval data: coloured-shape scenes, four task kinds, and writers for
SFT records, RL pairs and a held-out MMEB-style evaluation split. Everything is seeded."""
from umer1.experiments.synthetic.writers import DatasetPaths, generate_dataset

__all__ = ["DatasetPaths", "generate_dataset"]
