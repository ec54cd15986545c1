import pytest

from neuralbrain.errors import CapabilityError, ConfigError
from neuralbrain.reasoning.gl.module import GLFeasibility, GLFeasibilityConfig

SCENE = ["shows(cube_1, 3)", "shows(cube_2, 7)", "on(cube_2, cube_1)",
         "reachable(cube_1)", "reachable(cube_2)", "heard(7)"]


def test_module_answers_and_books_on_its_backend():
    m = GLFeasibility()
    m.reset(0)
    out = m.step({"facts": SCENE, "skill": "pick(cube_2)"})
    assert out["feasible"] is True and out["explanation"]["is_target"]
    ops = {"gl_agent.message", "gl_agent.unify", "gl_agent.block_cycle"}
    assert {(b.op, b.backend) for b in m.ledger.drain()} == {(op, "logic_grid") for op in ops}
    m.to("cpu")
    out = m.step({"facts": SCENE, "skill": "pick(cube_1)"})
    assert out["feasible"] is False
    assert {(b.op, b.backend) for b in m.ledger.drain()} == {(op, "cpu") for op in ops}


def test_a_backend_that_does_not_price_the_grid_is_refused():
    with pytest.raises(CapabilityError, match="module 'GLFeasibility': backend = 'rram' does not "
                                              "price action 'block_cycle'"):
        GLFeasibility(GLFeasibilityConfig(backend="rram"))
    m = GLFeasibility()
    with pytest.raises(CapabilityError, match="backend = 'lut' does not price"):
        m.to("lut")
    assert m.reasoner.backend.name == "logic_grid"


def test_same_input_same_output():
    m = GLFeasibility()
    a = m.step({"facts": SCENE, "skill": "pick(cube_1)"})
    b = m.step({"facts": SCENE, "skill": "pick(cube_1)"})
    assert a == b


def test_config_is_validated():
    with pytest.raises(ConfigError, match="max_steps"):
        GLFeasibilityConfig(max_steps=0)
