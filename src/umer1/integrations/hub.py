"""`umer1 push`: upload a saved model folder (weights, processor, settings, card) to a model hub.

Plain huggingface_hub calls (`HfApi.create_repo`, `create_branch`, `upload_folder` in
huggingface_hub/hf_api.py), so the hub address, proxy and offline settings are the ones users of
huggingface_hub already set (`HF_ENDPOINT`, `HF_HUB_OFFLINE`, a cached login or `HF_TOKEN`).
"""
from __future__ import annotations

import os
from pathlib import Path

from umer1.engine.card import CARD_FILE
from umer1.utils.errors import InputError

# Never uploaded: the atomic writers' temporaries (utils.files) and editor / OS litter.
IGNORE = [".*.tmp", "**/.*.tmp", ".DS_Store", "**/__pycache__/**"]


def _check_folder(model_dir: Path) -> None:
    if not model_dir.is_dir():
        raise InputError("no such folder", file=str(model_dir))
    if not ((model_dir / "config.json").is_file() or (model_dir / "adapter_config.json").is_file()):
        raise InputError("not a model folder (no config.json or adapter_config.json); push a "
                         "training run's `final/` or a checkpoint's `model/` folder",
                         file=str(model_dir))
    if not (model_dir / CARD_FILE).is_file():
        raise InputError(f"no model card ({CARD_FILE}): write one with `umer1 card {model_dir}`",
                         file=str(model_dir))


def push_model(model_dir: str | Path, repo_id: str, *, private: bool = False,
               revision: str | None = None, token: str | None = None,
               commit_message: str | None = None, api=None) -> str:
    """Create `repo_id` if needed and upload `model_dir` in one commit; returns the commit's URL.
    `api`: an `HfApi` (default: a new one with `token`)."""
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError, HFValidationError, OfflineModeIsEnabled
    import httpx2     # huggingface_hub 2.x's HTTP client (huggingface_hub/utils/_http.py)
    model_dir = Path(model_dir)
    _check_folder(model_dir)
    api = api or HfApi(token=token)
    try:
        api.create_repo(repo_id, private=private, repo_type="model", exist_ok=True)
        if revision:
            api.create_branch(repo_id, branch=revision, repo_type="model", exist_ok=True)
        info = api.upload_folder(repo_id=repo_id, folder_path=str(model_dir), repo_type="model",
                                 revision=revision, ignore_patterns=IGNORE,
                                 commit_message=commit_message or f"Upload {model_dir.name} with umer1")
    except HFValidationError as exc:
        raise InputError(f"not a valid repository id: {exc}", field="--repo-id") from None
    except OfflineModeIsEnabled:
        raise InputError("HF_HUB_OFFLINE is set: unset it to push", field="--repo-id") from None
    except HfHubHTTPError as exc:
        status = getattr(exc.response, "status_code", "?")
        hint = " (check the token: --token-env, HF_TOKEN or a saved login)" if status in (401, 403) else ""
        raise InputError(f"the hub refused the upload (HTTP {status}){hint}: "
                         f"{str(exc).splitlines()[0]}", field="--repo-id") from None
    except (httpx2.HTTPError, OSError) as exc:
        raise InputError(f"cannot reach the model hub ({type(exc).__name__}: {exc}); set "
                         "HF_ENDPOINT for a mirror", field="--repo-id") from None
    return str(getattr(info, "commit_url", info))


def token_from_env(var: str | None) -> str | None:
    """The token in environment variable `var` (None: huggingface_hub's own lookup)."""
    if var is None:
        return None
    token = os.environ.get(var)
    if not token:
        raise InputError(f"environment variable {var} is not set or empty", field="--token-env")
    return token
