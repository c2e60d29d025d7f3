"""What a user names when loading a model (source, dtype, device), checked before any weights
are read, and the loaders' own failures turned into one-line `InputError`s.

A hub id is at most `org/name`; anything else with a path separator, or whose first part is a
local folder, is taken as a local path, so a typo fails at once instead of waiting on a hub.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

import torch

from umer1.utils.errors import InputError

DTYPES = {"float32": torch.float32, "fp32": torch.float32, "bfloat16": torch.bfloat16,
          "bf16": torch.bfloat16, "float16": torch.float16, "fp16": torch.float16}
# Any one of these makes a folder hold a tokenizer transformers can load.
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "vocab.json", "tokenizer.model")


def parse_dtype(dtype):
    """A torch dtype, "auto" or None from a user's value; an InputError for anything else."""
    if dtype is None or dtype == "auto" or dtype in DTYPES.values():
        return dtype
    if isinstance(dtype, str) and dtype in DTYPES:
        return DTYPES[dtype]
    raise InputError(f"unknown dtype {dtype!r}; expected auto, {', '.join(DTYPES)}", field="dtype")


def check_device(device) -> None:
    """An InputError, before loading, for a device that is malformed or not on this machine."""
    if device is None:
        return
    try:
        d = torch.device(device)
    except (RuntimeError, TypeError):
        raise InputError(f"not a device: {device!r} (expected cpu, cuda, cuda:1, mps ...)",
                         field="device") from None
    if d.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError(f"{device!r} asked for, but CUDA is not available here (no GPU, or "
                             "a CPU-only torch build)", field="device")
        if d.index is not None and d.index >= torch.cuda.device_count():
            raise InputError(f"{device!r} asked for, but there are {torch.cuda.device_count()} "
                             "CUDA devices", field="device")
    elif d.type == "mps" and not torch.backends.mps.is_available():
        raise InputError("'mps' asked for, but MPS is not available here", field="device")


def _looks_local(name: str) -> bool:
    from huggingface_hub.errors import HFValidationError
    from huggingface_hub.utils import validate_repo_id
    if name.startswith((".", "~", "/")) or "\\" in name or name.endswith("/"):
        return True
    parts = name.split("/")
    if len(parts) > 2 or (len(parts) == 2 and Path(parts[0]).is_dir()):
        return True
    try:
        validate_repo_id(name)
    except HFValidationError:
        return True
    return False


def check_model_source(name: str, what: str = "model") -> bool:
    """True when `name` is a local checkpoint folder, False for a hub id; an InputError at once
    for a local-looking path that does not exist or a folder that is not a checkpoint."""
    p = Path(name).expanduser()
    if p.is_dir():
        if not (p / "config.json").is_file():
            raise InputError(f"no config.json in this folder, so it holds no {what} checkpoint",
                             file=name)
        return True
    if p.exists():
        raise InputError(f"a {what} is a folder (or a hub id), not a file", file=name)
    if _looks_local(name):
        raise InputError(f"no such {what} folder", file=name)
    return False


def check_tokenizer_files(folder: str | Path) -> None:
    if not any((Path(folder) / f).is_file() for f in TOKENIZER_FILES):
        raise InputError(f"no tokenizer files in this folder (expected one of "
                         f"{', '.join(TOKENIZER_FILES)})", file=str(folder))


@contextlib.contextmanager
def loading(what: str, source: str):
    """Failures of a transformers loader (missing or truncated weights, unreadable files) as
    one InputError naming `source`."""
    from safetensors import SafetensorError
    try:
        yield
    except (InputError, torch.OutOfMemoryError):
        raise
    except (OSError, EOFError, ValueError, RuntimeError, SafetensorError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise InputError(f"cannot load the {what}: {first}", file=source) from None
