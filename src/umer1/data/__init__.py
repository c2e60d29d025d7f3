"""Training-data readers: record schemas validated into model inputs."""
