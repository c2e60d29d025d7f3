"""The YAML + --set config helper."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pytest
import yaml

from umer1.utils.config import apply_overrides, load_config, save_resolved
from umer1.utils.errors import InputError


@dataclass
class Optim:
    lr: float = 1e-3
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])


@dataclass
class Cfg:
    name: str = "run"
    steps: int = 10
    bf16: bool = False
    mode: Literal["disc", "gen"] = "gen"
    adapter: str | None = None
    optim: Optim = field(default_factory=Optim)


def test_yaml_and_overrides(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("steps: 5\noptim:\n  lr: 1e-4\n")
    cfg = load_config(Cfg, p, ["optim.betas=[0.8, 0.9]", "bf16=true", "adapter=lora", "mode=disc"])
    assert cfg.steps == 5 and cfg.optim.lr == pytest.approx(1e-4)   # "1e-4" is a YAML string
    assert cfg.optim.betas == [0.8, 0.9] and cfg.bf16 is True and cfg.adapter == "lora"
    assert cfg.mode == "disc"
    assert apply_overrides(cfg, ["adapter=null"]).adapter is None


def test_unknown_key_names_file_and_key(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("optim:\n  lrr: 1\n")
    with pytest.raises(InputError) as e:
        load_config(Cfg, p)
    assert e.value.file == str(p) and e.value.field == "optim.lrr"
    with pytest.raises(InputError) as e:
        load_config(Cfg, None, ["optim.nope=1"])
    assert e.value.field == "optim.nope" and e.value.file == "--set"


@pytest.mark.parametrize("override,key", [("steps=1.5", "steps"), ("bf16=maybe", "bf16"),
                                          ("mode=both", "mode"), ("optim.lr=fast", "optim.lr"),
                                          ("optim=3", "optim")])
def test_type_errors(override, key):
    with pytest.raises(InputError) as e:
        load_config(Cfg, None, [override])
    assert e.value.field == key


def test_malformed_yaml(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("steps: [1,\n")
    with pytest.raises(InputError) as e:
        load_config(Cfg, p)
    assert e.value.file == str(p)


def test_save_resolved_round_trip(tmp_path):
    cfg = load_config(Cfg, None, ["steps=7"])
    path = save_resolved(cfg, tmp_path)
    assert yaml.safe_load(path.read_text())["steps"] == 7
    assert load_config(Cfg, path) == cfg
