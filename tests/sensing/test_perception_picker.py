"""insensor_picker: DigitPick solved from the event camera, with perception in the trace."""

from __future__ import annotations

import pytest

from neuralbrain_agents.insensor import instruction_digit

pytest.importorskip("pybullet")


def test_instruction_digit_reads_digits_and_words():
    assert instruction_digit("put the 4 in the tray") == 4
    assert instruction_digit("could you place the seven in the tray?") == 7
    assert instruction_digit("put the cube showing the spoken digit in the tray") is None


@pytest.mark.data
def test_one_debug_episode_runs_with_perception_in_the_trace(tmp_path):
    import pyarrow.parquet as pq

    from neuralbrain.config import load_experiment
    from neuralbrain.runner import run_episodes
    from neuralbrain_agents.insensor import InsensorPicker
    from tests.conftest import data_root_or_skip

    root = data_root_or_skip("mnist").parent
    cfg = load_experiment("agents/configs/insensor_picker_debug.toml")
    InsensorPicker.train(cfg, tmp_path / "ck", root, False)
    # debug weights read digits poorly: success is measured by benchmarks/bench_perception.py
    summary = run_episodes(cfg, tmp_path / "run", checkpoint=tmp_path / "ck", progress=False)
    assert summary.errors == 0
    tmp_path = tmp_path / "run"
    trace = pq.read_table(tmp_path / "trace.parquet").to_pydict()
    ops = {op for op, mod in zip(trace["op"], trace["module"], strict=True) if mod == "perception"}
    assert {"conv1", "readout", "conv2"} <= ops
    perception_j = sum(
        e for e, mod in zip(trace["energy_j"], trace["module"], strict=True) if mod == "perception"
    )
    assert perception_j > 0
