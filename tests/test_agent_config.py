"""Agents as data: an agent TOML declares its modules and edges; bad ones fail on loading,
in one line naming what and where, before anything is built or run."""

from __future__ import annotations

import pytest

from neuralbrain.cli import main
from neuralbrain.config import AgentConfig, TaskConfig, load_config
from neuralbrain.errors import CapabilityError, ConfigError, UnknownNameError

AGENT = '''
seed = 3
edges = ["env.obs -> policy.obs", "policy.action -> action"]
[env]
id = "CartPole-v1"
max_episode_steps = 5
[run]
episodes = 1
progress = false
[modules.policy]
type = "random_policy"
backend = "cpu"
'''


def _write(tmp_path, text, name="agent.toml"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_an_agent_is_modules_and_edges(tmp_path):
    cfg = load_config(_write(tmp_path, AGENT))
    assert isinstance(cfg, AgentConfig)
    assert cfg.modules["policy"].type == "random_policy"
    assert cfg.edges == (("env.obs", "policy.obs"), ("policy.action", "action"))
    again = load_config(_write(tmp_path, cfg.to_toml(), "again.toml"))
    assert again.to_dict() == cfg.to_dict()


def test_a_module_override_needs_no_modules_prefix(tmp_path):
    path = _write(tmp_path, AGENT.replace('"cpu"', '"neuromorphic"'))
    with pytest.raises(CapabilityError):
        load_config(path)
    assert load_config(path, ["policy.backend=cpu"]).modules["policy"].config.backend == "cpu"
    assert load_config(path, ["modules.policy.backend=cpu"]).modules["policy"].config.backend == "cpu"


def test_configs_are_found_by_name():
    assert isinstance(load_config("neural_brain"), AgentConfig)
    assert isinstance(load_config("lsm_nmnist"), TaskConfig)
    with pytest.raises(UnknownNameError, match="did you mean 'neural_brain'"):
        load_config("neural_brian")


@pytest.mark.parametrize("change, error, message", [
    (('"random_policy"', '"random_polcy"'), UnknownNameError,
     r"unknown module 'random_polcy'.*did you mean 'random_policy'"),
    (('backend = "cpu"', 'backend = "cpu"\nspeed = 3'), ConfigError,
     r"\[modules.policy\] has unknown key\(s\) \['speed'\]"),
    (('"policy.action -> action"', '"policy.actions -> action"'), ConfigError,
     r"edge policy.actions -> action: policy has no output 'actions'"),
    (('"env.obs -> policy.obs"', '"env.obs -> policy.observation"'), ConfigError,
     r"edge env.obs -> policy.observation: policy has no input 'observation'"),
    (('backend = "cpu"', 'backend = "rram"'), CapabilityError,
     r"module 'policy': backend = 'rram' does not price action 'alu_op', which it books; "
     r"backends that do: \[.*'cpu'.*\]"),
    (('"env.obs -> policy.obs", ', ''), ConfigError, r"input\(s\) \['obs'\] have no edge"),
    (('edges = [', 'edgs = ['), ConfigError, r"unknown top-level key\(s\) \['edgs'\]"),
    (('[modules.policy]', '[hardware.nosuch]\n[modules.policy]'), UnknownNameError,
     r"unknown backend 'nosuch'"),
])
def test_bad_agents_fail_on_loading_naming_what_and_where(tmp_path, change, error, message):
    path = _write(tmp_path, AGENT.replace(*change))
    with pytest.raises(error, match=message):
        load_config(path)


def test_a_port_type_mismatch_names_the_edge(tmp_path):
    text = '''
edges = ["env.obs -> language.obs", "language.request -> control.plan",
         "env.info -> oracle.info", "oracle.scene -> control.scene", "env.obs -> control.obs",
         "control.action -> action"]
[modules.language]
type = "language"
[modules.oracle]
type = "oracle"
[modules.control]
type = "skill_control"
'''
    with pytest.raises(ConfigError, match=r"edge language.request -> control.plan: type "
                       r"mismatch, language.request gives Request but control.plan expects Plan"):
        load_config(_write(tmp_path, text))


def test_a_trained_module_names_a_task_of_its_kind(tmp_path):
    base = load_config("neural_brain_debug").to_toml()
    path = _write(tmp_path, base.replace('task = "lsm_crossmodal_debug"',
                                         'task = "insensor_nmnist_debug"'))
    with pytest.raises(ConfigError, match=r"\[modules.listener\] task = 'insensor_nmnist_debug' "
                       r"is a 'insensor_nmnist' task: .*\['lsm_zeroshot', 'lsm_fsdd'\]"):
        load_config(path)
    path = _write(tmp_path, base.replace('task = "lsm_crossmodal_debug"\n', ""))
    with pytest.raises(ConfigError, match=r"\[modules.listener\] \(listener\) is trained"):
        load_config(path)


@pytest.mark.parametrize("command", ["run", "train"])
@pytest.mark.parametrize("change, named", [
    (('"random_policy"', '"random_polcy"'), "'random_polcy'"),
    (('"policy.action -> action"', '"policy.actions -> action"'), "policy.actions -> action"),
    (('"policy.action -> action"', '"policy.action -> planner.plan", "policy.action -> action"'),
     "unknown module 'planner'"),
    (('backend = "cpu"', 'backend = "rram"'), "'alu_op'"),
])
def test_the_cli_says_it_in_one_line_and_exits_2_before_anything_runs(tmp_path, capsys, command,
                                                                      change, named):
    path = _write(tmp_path, AGENT.replace(*change))
    out = tmp_path / "out"
    code = main([command, str(path), "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and named in err, err
    assert not out.exists()
