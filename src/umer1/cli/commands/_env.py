"""Secrets for CLI verbs come from environment variables, never from the command line."""
from __future__ import annotations

import os

from umer1.utils.errors import InputError


def secret_from_env(var: str, option: str = "--api-key-env") -> str:
    """The value of `var`; an InputError naming the option when it is unset or empty."""
    value = os.environ.get(var)
    if not value:
        raise InputError(f"the environment variable {var} is not set or empty", field=option)
    return value
