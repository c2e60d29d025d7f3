"""A training run's folder: never clobbered by accident, resumed only on the same data.

- A folder that already holds a run is used again only with `resume` (continue it) or
  `overwrite` (delete it first); otherwise the run refuses before writing anything, since
  starting over in it would empty its metrics and prune its checkpoints.
- `run.json` records the SHA-256 of the training data file(s) and the resolved config; a
  resume with different data is refused (the data position in a checkpoint indexes the file).

Every check happens on every process before any process writes (`RunFolder.__init__`);
`start` (main process writes, all wait) comes later, once data and model have loaded.
"""
from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

from umer1.train.base.checkpoint import (CHECKPOINTS, TRAINER_STATE, clean_partial,
                                         latest_checkpoint)
from umer1.utils.errors import InputError
from umer1.utils.files import file_sha256

log = logging.getLogger(__name__)

RUN_INFO = "run.json"
# what a trainer writes into its folder: any of them means the folder holds a run
RUN_FILES = (RUN_INFO, "config.yaml", "metrics.jsonl", "summary.json", CHECKPOINTS, "final")


def holds_run(folder: Path) -> bool:
    return any((folder / name).exists() for name in RUN_FILES)


class RunFolder:
    def __init__(self, output_dir: str | Path, data_files: list[str], *,
                 resume: bool | str | Path = False, overwrite: bool = False):
        self.path = Path(output_dir)
        self.overwrite = overwrite
        if resume and overwrite:
            raise InputError("--resume continues the run in the folder, --overwrite deletes it: "
                             "pass one of them", field="--overwrite")
        self.checkpoint: Path | None = None
        if resume is not False and resume is not True:
            ckpt = Path(resume)
            if not (ckpt / TRAINER_STATE).is_file():
                raise InputError(f"no checkpoint there (expected a {CHECKPOINTS}/step-N folder "
                                 f"holding {TRAINER_STATE})", file=str(ckpt), field="--resume")
            self.checkpoint = ckpt
        elif resume:
            self.checkpoint = latest_checkpoint(self.path)
            if self.checkpoint is None:
                log.warning("no checkpoint in %s: starting from the beginning", self.path)
        elif holds_run(self.path) and not overwrite:
            raise InputError(f"{self.path} already holds a run: pass --resume to continue it, "
                             "--overwrite to replace it, or choose another folder",
                             field="train.output_dir")
        self.data_sha256 = {str(f): file_sha256(f) for f in data_files}
        if self.checkpoint is not None:
            self._check_same_data()

    def _check_same_data(self) -> None:
        """The data of the run the checkpoint belongs to must be the data given now."""
        info_path = self.checkpoint.parent.parent / RUN_INFO
        if not info_path.is_file():
            return
        recorded = json.loads(info_path.read_text(encoding="utf-8")).get("data_sha256", {})
        if recorded and list(recorded.values()) != list(self.data_sha256.values()):
            files = ", ".join(self.data_sha256)
            raise InputError(f"the training data differs from the data of the run being resumed "
                             f"(its SHA-256 is recorded in {info_path}); resume with the same "
                             "file, or start a new run in another folder",
                             file=files, field="data.train_file")

    def start(self, accelerator) -> None:
        """Clear the folder (overwrite) and remove half-written checkpoints; all processes call."""
        if accelerator.is_main_process:
            if self.overwrite and holds_run(self.path):
                log.warning("--overwrite: deleting the run in %s", self.path)
                shutil.rmtree(self.path)
            self.path.mkdir(parents=True, exist_ok=True)
        accelerator.wait_for_everyone()
        clean_partial(self.path, accelerator)
