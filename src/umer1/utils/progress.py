"""The one progress-bar helper: tqdm on stderr, silent when disabled."""
from __future__ import annotations

from tqdm.auto import tqdm


def progress(total: int | None = None, desc: str = "", enabled: bool = True, unit: str = "it"):
    return tqdm(total=total, desc=desc, disable=not enabled, unit=unit, dynamic_ncols=True,
                leave=False)
