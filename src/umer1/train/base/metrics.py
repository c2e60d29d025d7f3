"""Per-step metrics as JSONL (main process only)."""
from __future__ import annotations

import json
from pathlib import Path

from umer1.utils.plots import read_metrics


class MetricsLog:
    """Appends one JSON row per logged step. On resume, the rows after the resumed step (a
    killed run logged them after its last checkpoint) are dropped first, so the file reads as
    one uninterrupted run."""

    def __init__(self, path: str | Path, enabled: bool, resume_step: int = 0):
        self.path = Path(path)
        self.enabled = enabled
        if enabled:
            rows = []
            if resume_step and self.path.is_file():
                rows = [r for r in read_metrics(self.path) if r.get("step", 0) <= resume_step]
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("w", encoding="utf-8") as fh:
                fh.writelines(json.dumps(r) + "\n" for r in rows)

    def write(self, row: dict) -> None:
        if self.enabled:
            with self.path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(row) + "\n")
                fh.flush()
