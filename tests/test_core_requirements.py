"""``Module.requires`` and ``check_requirements``: a module is refused, when built or moved, by a
backend that lacks an op it runs or an action it books."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from neuralbrain.core import Module, Needs
from neuralbrain.errors import CapabilityError, ConfigError
from neuralbrain.hardware import backends_pricing, backends_with


@dataclass(frozen=True)
class CountConfig:
    backend: str = "cpu"
    helper_backend: str = ""  # "": the main backend


class Counter(Module):
    Config = CountConfig
    requires = {"backend": Needs(actions={"alu_op"}),
                "helper_backend": Needs(ops={"matmul"})}

    def step(self, inputs):
        self.charge("alu_op", 1)
        return {}


def test_a_missing_action_is_named_with_module_field_backend_and_who_prices_it():
    with pytest.raises(CapabilityError) as err:
        Counter(CountConfig(backend="rram"))
    message = str(err.value)
    assert "\n" not in message
    assert message == (
        "module 'Counter': backend = 'rram' does not price action 'alu_op', which the module "
        f"books; backends that do: {backends_pricing('alu_op')}")
    assert "'cpu'" in message
    module = Counter(CountConfig(backend="cpu"))
    module.step({})
    assert [(b.op, b.backend) for b in module.ledger.drain()] == [("alu_op", "cpu")]


def test_an_empty_backend_field_means_the_main_backend_and_a_named_one_is_checked_too():
    with pytest.raises(CapabilityError, match=r"helper_backend = 'brian2' cannot run op 'matmul'"
                                              r", which the module needs; backends that can: "
                                              + str(backends_with("matmul")).replace("[", r"\[")):
        Counter(CountConfig(helper_backend="brian2"))
    Counter(CountConfig(helper_backend="lut"))  # matmul, and alu_op is asked of cpu


def test_moving_a_module_checks_the_new_backend_first():
    module = Counter(CountConfig())
    with pytest.raises(CapabilityError, match="backend = 'neuromorphic' does not price action "
                                              "'alu_op'"):
        module.to("neuromorphic")
    assert module.backend.name == "cpu"


def test_needs_names_only_ops_and_actions_of_the_vocabulary():
    with pytest.raises(ConfigError, match=r"\['lif', 'mac'\]"):
        Needs(ops={"lif"}, actions={"mac"})
