from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from neuralbrain.core import Agent, Module, Needs, check_graph, module_seed
from neuralbrain.errors import CapabilityError, ConfigError, UnknownNameError
from neuralbrain.hardware import backends_pricing, backends_with


@dataclass(frozen=True)
class LinearConfig:
    backend: str = "cpu"


class Features(Module):
    inputs = {"obs": object}
    outputs = {"features": np.ndarray}
    Config = LinearConfig

    def __init__(self, config=LinearConfig(), hardware=None):
        super().__init__(config, hardware)
        self.w = np.arange(12, dtype=np.float32).reshape(4, 3) / 10

    def step(self, inputs):
        return {"features": self.run("matmul", np.asarray(inputs["obs"], np.float32), self.w)}


class Policy(Module):
    inputs = {"features": np.ndarray}
    outputs = {"action": int}
    Config = LinearConfig

    def step(self, inputs):
        noise = self.rng.random()
        self.charge("alu_op", 3)
        return {"action": int(np.argmax(inputs["features"]) + (noise > 2))}


class Words(Module):
    inputs = {"text": str}
    outputs = {"action": int}
    Config = LinearConfig

    def step(self, inputs):
        return {"action": 0}


def _agent():
    return Agent(
        {"features": Features(), "policy": Policy(LinearConfig())},
        [("env.obs", "features.obs"), ("features.features", "policy.features"),
         ("policy.action", "action")],
    )


def test_agent_runs_modules_in_order_and_books_costs():
    agent = _agent()
    agent.reset(0)
    assert agent.order == ["features", "policy"]
    assert agent.act(np.ones(4), {}) == 2
    bookings = {name: ledger.drain() for name, ledger in agent.ledgers.items()}
    assert [b.op for b in bookings["features"]] == ["matmul"]
    assert bookings["features"][0].cost.ops == 12
    assert [b.op for b in bookings["policy"]] == ["alu_op"]


@pytest.mark.parametrize(
    "edges, message",
    [
        ([("env.obs", "features.obs"), ("features.nope", "policy.features"), ("policy.action", "action")],
         r"edge features.nope -> policy.features: features has no output 'nope'"),
        ([("env.obs", "features.obs"), ("policy.action", "action")],
         r"module 'policy': input\(s\) \['features'\] have no edge"),
        ([("env.obs", "features.obs"), ("features.features", "ghost.x"), ("policy.action", "action")],
         r"unknown module 'ghost'"),
        ([("env.obs", "features.obs"), ("features.features", "policy.features")],
         r"no edge feeds 'action'"),
        ([("env.obs", "features.obs"), ("env.obs", "features.obs"), ("features.features", "policy.features"),
          ("policy.action", "action")], r"already fed by env.obs"),
        (["featuresobs"], r"expected a pair"),
        ([("featuresobs", "action")], r"not of the form 'module.port'"),
    ],
)
def test_graph_errors_name_the_failing_edge(edges, message):
    with pytest.raises(ConfigError, match=message):
        Agent({"features": Features(), "policy": Policy(LinearConfig())}, edges)


def test_type_mismatch_names_the_edge():
    with pytest.raises(ConfigError, match=r"edge features.features -> words.text: type mismatch, "
                       r"features.features gives ndarray but words.text expects str"):
        Agent({"features": Features(), "words": Words(LinearConfig())},
              [("env.obs", "features.obs"), ("features.features", "words.text"), ("words.action", "action")])


def test_cycles_are_rejected():
    class Echo(Module):
        inputs = {"features": np.ndarray}
        outputs = {"features": np.ndarray}
        Config = LinearConfig

    with pytest.raises(ConfigError, match="cycle"):
        Agent({"a": Echo(LinearConfig()), "b": Echo(LinearConfig())},
              [("a.features", "b.features"), ("b.features", "a.features"), ("a.features", "action")])


def test_backend_swap_and_unknown_backend():
    module = Features()
    assert module.backend.name == "cpu"
    assert module.to("cpu") is module
    with pytest.raises(UnknownNameError, match="unknown backend 'tpu'"):
        module.to("tpu")
    with pytest.raises(UnknownNameError, match="unknown backend 'tpu'"):
        Features(LinearConfig(backend="tpu"))


def test_module_seeds_are_stable_and_independent_of_other_modules():
    assert module_seed(3, "policy") == module_seed(3, "policy")
    assert module_seed(3, "policy") != module_seed(3, "features")
    assert module_seed(3, "policy") != module_seed(4, "policy")
    a, b = _agent(), _agent()
    a.reset(5)
    b.reset(5)
    assert a.modules["policy"].rng.random() == b.modules["policy"].rng.random()


def test_recurrent_edges_deliver_the_previous_step_without_a_cycle():
    class Counter(Module):
        inputs = {"last": object}
        outputs = {"count": int}
        Config = LinearConfig

        def step(self, inputs):
            return {"count": 0 if inputs["last"] is None else inputs["last"] + 1}

    agent = Agent({"c": Counter(LinearConfig())},
                  [("c.count@prev", "c.last"), ("c.count", "action")])
    agent.reset(0)
    assert [agent.act(None, {}) for _ in range(3)] == [0, 1, 2]
    agent.reset(0)
    assert agent.act(None, {}) == 0
    with pytest.raises(ConfigError, match="env ports cannot be delayed"):
        Agent({"c": Counter(LinearConfig())}, [("env.obs@prev", "c.last"), ("c.count", "action")])


def test_an_optional_input_left_unwired_receives_none():
    class Greeter(Module):
        inputs = {"obs": object, "name": str}
        optional = frozenset({"name"})
        outputs = {"action": str}
        Config = LinearConfig

        def step(self, inputs):
            return {"action": f"hello {inputs['name']}"}

    agent = Agent({"g": Greeter(LinearConfig())}, [("env.obs", "g.obs"), ("g.action", "action")])
    agent.reset(0)
    assert agent.act(None, {}) == "hello None"
    with pytest.raises(ConfigError, match=r"input\(s\) \['obs'\] have no edge"):
        Agent({"g": Greeter(LinearConfig())}, [("g.action", "action")])


def test_the_graph_is_checked_on_classes_before_any_module_exists():
    ports = {"features": Features, "policy": Policy}
    graph = check_graph({n: c.inputs for n, c in ports.items()},
                        {n: c.outputs for n, c in ports.items()},
                        [("env.obs", "features.obs"), ("features.features", "policy.features"),
                         ("policy.action", "action")])
    assert graph.order == ("features", "policy") and graph.action == "policy.action"


def test_bind_spaces_reaches_every_module():
    seen = []

    class Spy(Policy):
        def bind_spaces(self, observation_space, action_space):
            seen.append((observation_space, action_space))

    agent = Agent({"features": Features(), "policy": Spy(LinearConfig())},
                  [("env.obs", "features.obs"), ("features.features", "policy.features"),
                   ("policy.action", "action")])
    agent.bind_spaces("obs-space", "action-space")
    assert seen == [("obs-space", "action-space")]


# -- what a module needs of its backends ------------------------------------------------
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
        "module 'Counter': backend = 'rram' does not price action 'alu_op', which it books; "
        f"backends that do: {backends_pricing('alu_op')}")
    assert "'cpu'" in message
    module = Counter(CountConfig(backend="cpu"))
    module.step({})
    assert [(b.op, b.backend) for b in module.ledger.drain()] == [("alu_op", "cpu")]


def test_an_empty_backend_field_means_the_main_backend_and_a_named_one_is_checked_too():
    with pytest.raises(CapabilityError, match=r"helper_backend = 'brian2' cannot run op 'matmul'"
                                              r", which it needs; backends that can: "
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
