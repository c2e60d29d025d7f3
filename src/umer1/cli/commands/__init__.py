"""One module per CLI verb (see umer1.cli)."""
