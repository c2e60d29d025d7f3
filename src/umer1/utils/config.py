"""Run configuration: dataclasses loaded from YAML, with `--set key=value` overrides.

One small API for every trainer:

    cfg = load_config(SFTConfig, "configs/sft/tiny.yaml", ["optim.lr=1e-4", "train.steps=10"])
    save_resolved(cfg, out_dir)          # writes out_dir/config.yaml

Values are type-checked against the dataclass annotations (bool, int, float, str, `X | None`,
list[X], dict[str, X], Literal[...], nested dataclasses). Unknown keys and wrong types are
`InputError`s naming the file and the dotted key, so a typo never silently falls back to a
default.
"""
from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, Iterable, TypeVar

import yaml

from umer1.utils.errors import InputError
from umer1.utils.files import atomic_path

T = TypeVar("T")
RESOLVED_NAME = "config.yaml"
SET_SOURCE = "--set"


def load_config(cls: type[T], path: str | Path | None = None, overrides: Iterable[str] = ()) -> T:
    """An instance of dataclass `cls` from a YAML file (optional) plus `key=value` overrides."""
    data: dict = {}
    if path is not None:
        data = read_yaml(path)
    cfg = from_dict(cls, data, file=str(path) if path is not None else None)
    return apply_overrides(cfg, overrides)


def read_yaml(path: str | Path) -> dict:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot read config: {exc.strerror or exc}", file=str(path)) from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"malformed YAML: {getattr(exc, 'problem', exc)}", file=str(path),
                         row=None if mark is None else mark.line + 1) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError("a config file must hold a mapping of keys to values", file=str(path))
    return data


def from_dict(cls: type[T], data: dict, *, file: str | None = None, prefix: str = "") -> T:
    """Build dataclass `cls` from a (nested) dict, rejecting unknown keys and wrong types."""
    if not isinstance(data, dict):
        raise InputError("expected a mapping", file=file, field=prefix.rstrip(".") or None)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    hints = typing.get_type_hints(cls)
    unknown = [k for k in data if k not in fields]
    if unknown:
        key = prefix + str(unknown[0])
        raise InputError(f"unknown key; known keys here: {', '.join(sorted(fields))}",
                         file=file, field=key)
    kwargs = {}
    for name, value in data.items():
        kwargs[name] = _coerce(hints[name], value, file=file, key=prefix + name)
    return cls(**kwargs)


def to_dict(cfg: Any) -> dict:
    """Plain nested dict (YAML-ready) of a config dataclass."""
    return dataclasses.asdict(cfg)


def apply_overrides(cfg: T, overrides: Iterable[str]) -> T:
    """A new config with each `dotted.key=value` applied; values are parsed as YAML scalars."""
    overrides = list(overrides)
    if not overrides:
        return cfg
    data = to_dict(cfg)
    for item in overrides:
        if "=" not in item:
            raise InputError(f"expected key=value, got {item!r}", file=SET_SOURCE)
        key, raw = item.split("=", 1)
        key = key.strip()
        parts = key.split(".")
        node = data
        for i, part in enumerate(parts):
            if not isinstance(node, dict) or part not in node:
                raise InputError("unknown key", file=SET_SOURCE, field=".".join(parts[:i + 1]))
            if i < len(parts) - 1:
                node = node[part]
        try:
            value = yaml.safe_load(raw) if raw.strip() else ""
        except yaml.YAMLError:
            value = raw
        node[parts[-1]] = value
    return from_dict(type(cfg), data, file=SET_SOURCE)


def save_resolved(cfg: Any, out_dir: str | Path, name: str = RESOLVED_NAME) -> Path:
    """Write the resolved config as YAML next to a run's outputs (atomically)."""
    path = Path(out_dir) / name
    with atomic_path(path) as tmp:
        tmp.write_text(dump(cfg), encoding="utf-8")
    return path


def dump(cfg: Any) -> str:
    return yaml.safe_dump(to_dict(cfg), sort_keys=False, allow_unicode=True)


def add_config_arguments(parser, default: str | None = None) -> None:
    """The `--config FILE` and repeated `--set key=value` options every trainer takes."""
    parser.add_argument("--config", default=default, required=default is None,
                        help="YAML config file")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="override one config value (dotted key); repeatable")


# ----- type coercion ----------------------------------------------------------------------
def _type_name(tp) -> str:
    return getattr(tp, "__name__", None) or str(tp).replace("typing.", "")


def _coerce(tp, value, *, file, key):
    def bad(expected: str | None = None):
        return InputError(f"expected {expected or _type_name(tp)}, got {value!r}",
                          file=file, field=key)

    origin = typing.get_origin(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if value is None and type(None) in args:
            return None
        for arg in args:
            if arg is type(None):
                continue
            try:
                return _coerce(arg, value, file=file, key=key)
            except InputError:
                continue
        raise bad(" or ".join(_type_name(a) for a in args))
    if origin is typing.Literal:
        choices = typing.get_args(tp)
        if value not in choices:
            raise bad("one of " + ", ".join(repr(c) for c in choices))
        return value
    if dataclasses.is_dataclass(tp):
        if value is None:
            raise bad("a mapping")
        return from_dict(tp, value, file=file, prefix=key + ".")
    if origin in (list, tuple):
        if not isinstance(value, (list, tuple)):
            raise bad("a list")
        (item_tp, *_rest) = typing.get_args(tp) or (Any,)
        items = [_coerce(item_tp, v, file=file, key=f"{key}[{i}]") for i, v in enumerate(value)]
        return items if origin is list else tuple(items)
    if origin is dict:
        if not isinstance(value, dict):
            raise bad("a mapping")
        _, val_tp = typing.get_args(tp) or (Any, Any)
        return {str(k): _coerce(val_tp, v, file=file, key=f"{key}.{k}") for k, v in value.items()}
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise bad("true or false")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise bad("an integer")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # YAML 1.1 reads "1e-5" as a string
            try:
                return float(value)
            except ValueError:
                pass
        raise bad("a number")
    if tp is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)  # e.g. a run name of digits
        raise bad("a string")
    return value
