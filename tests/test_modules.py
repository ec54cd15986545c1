"""The module contract, checked for every registered module type (plugins included)."""

from __future__ import annotations

import dataclasses

import pytest

from neuralbrain.core import Module, check_requirements
from neuralbrain.energy import Cost
from neuralbrain.modules import MODULES
from neuralbrain.tasks import TASKS

NAMES = MODULES.names()


@pytest.mark.parametrize("name", NAMES)
def test_declares_its_contract(name):
    cls = MODULES.get(name)
    assert issubclass(cls, Module)
    assert dataclasses.is_dataclass(cls.Config)
    fields = {f.name for f in dataclasses.fields(cls.Config)}
    assert "backend" in fields
    assert all(isinstance(t, type) for t in {**cls.inputs, **cls.outputs}.values())
    assert cls.optional <= set(cls.inputs)
    assert set(cls.requires) <= fields
    assert all(task in TASKS for task in cls.tasks)


@pytest.mark.parametrize("name", [n for n in NAMES if not MODULES.get(n).tasks])
def test_builds_from_its_default_config_and_runs_on_its_default_backend(name):
    cls = MODULES.get(name)
    config = cls.Config()
    check_requirements(name, cls, config)
    module = cls(config, {})
    module.reset(0)
    assert module.devices() and all(d.spent == Cost() for d in module.devices())
