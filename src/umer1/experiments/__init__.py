"""Experiments built on the library: the demo, its report, studies, and their synthetic data."""
