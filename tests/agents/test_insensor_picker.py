"""insensor_picker: DigitPick solved from the event camera, with perception in the trace."""

from __future__ import annotations

import pytest

from neuralbrain_agents.insensor_picker import instruction_digit

pytest.importorskip("pybullet")


def test_instruction_digit_reads_digits_and_words():
    assert instruction_digit("put the 4 in the tray") == 4
    assert instruction_digit("could you place the seven in the tray?") == 7
    assert instruction_digit("put the cube showing the spoken digit in the tray") is None


@pytest.mark.data
def test_one_debug_episode_runs_with_perception_in_the_trace(tmp_path):
    from neuralbrain.assemble import train_agent
    from neuralbrain.config import load_config
    from neuralbrain.runner import load_agent, run
    from tests.conftest import data_root_or_skip

    root = data_root_or_skip("mnist").parent
    cfg = load_config("agents/configs/insensor_picker_debug.toml")
    train_agent(cfg, tmp_path / "ck", root)
    # debug weights read digits poorly: success is measured by benchmarks/bench_perception.py
    result = run(load_agent(cfg, tmp_path / "ck"))
    assert result.summary()["errors"] == 0
    rows = [r for r in result.trace.to_pylist() if r["module"] == "perception"]
    booked = {(r["op"], r["backend"]) for r in rows}
    assert {("conv1", "in_sensor"), ("readout", "in_sensor"), ("conv2", "neuromorphic")} <= booked
    assert sum(r["energy_j"] for r in rows) > 0
    assert len({r["step"] for r in rows if r["op"] == "conv1"}) == 1  # it looks once
