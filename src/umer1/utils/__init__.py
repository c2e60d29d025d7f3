"""Layer 0: helpers with no knowledge of models: errors, atomic files, configs, progress, plots."""
