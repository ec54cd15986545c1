"""insensor_picker: DigitPick solved from the event camera, with perception in the trace."""

from __future__ import annotations

import pytest

from agents.insensor import instruction_digit

pytest.importorskip("pybullet")


def test_instruction_digit_reads_digits_and_words():
    assert instruction_digit("put the 4 in the tray") == 4
    assert instruction_digit("could you place the seven in the tray?") == 7
    assert instruction_digit("put the cube showing the spoken digit in the tray") is None


@pytest.mark.data
def test_one_debug_episode_succeeds_and_perception_is_in_the_trace(tmp_path):
    import pyarrow.parquet as pq

    from neuralbrain.config import load_experiment
    from neuralbrain.runner import run_episodes
    from tests.conftest import data_root_or_skip

    data_root_or_skip("mnist")
    cfg = load_experiment("agents/configs/insensor_picker_debug.toml")
    summary = run_episodes(cfg, tmp_path, progress=False)
    assert summary.errors == 0 and summary.success_rate == 1.0
    trace = pq.read_table(tmp_path / "trace.parquet").to_pydict()
    ops = {op for op, mod in zip(trace["op"], trace["module"], strict=True) if mod == "perception"}
    assert {"conv1@in_sensor", "readout@in_sensor", "conv2@neuromorphic"} <= ops
    perception_j = sum(
        e for e, mod in zip(trace["energy_j"], trace["module"], strict=True) if mod == "perception"
    )
    assert perception_j > 0
