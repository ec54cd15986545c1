import math

import pyarrow.parquet as pq
import pytest

from neuralbrain.energy import Cost, Ledger
from neuralbrain.trace import TRACE_SCHEMA, TraceRecorder, plot_energy


def _record(recorder, episode, steps):
    ledgers = {"a": Ledger(), "b": Ledger()}
    for step in range(steps):
        ledgers["a"].book("mvm", Cost(0.1 * (step + 1), 1e-3, 5, 8), backend="rram")
        ledgers["a"].book("adc", Cost(1e-17, 0.0, 1, 0), backend="rram")
        if step % 2:
            ledgers["b"].book("alu_op", Cost(0.3, 2e-3, 2, 0), backend="cpu")
        recorder.record_step(episode, step, step * 0.05, ledgers, {"a": "rram", "b": "cpu"})


def test_rows_per_module_and_op_and_exact_episode_totals(tmp_path):
    recorder = TraceRecorder(("a", "b"))
    for episode in range(2):
        _record(recorder, episode, 5)
        recorder.finish_episode(episode, 10 + episode, 5, 1.0, episode == 1, None)
    recorder.write(tmp_path)
    trace = pq.read_table(tmp_path / "trace.parquet")
    episodes = pq.read_table(tmp_path / "episodes.parquet").to_pylist()
    assert trace.schema.equals(TRACE_SCHEMA)
    rows = trace.to_pylist()
    # a books two ops every step; b books one op on odd steps and an idle row otherwise
    assert sum(r["module"] == "a" for r in rows) == 2 * 5 * 2
    assert sum(r["module"] == "b" and r["op"] == "" for r in rows) == 3 * 2
    for ep in episodes:
        mine = [r for r in rows if r["episode"] == ep["episode"]]
        assert math.fsum(r["energy_j"] for r in mine) == ep["energy_j"]
        assert math.fsum(r["latency_s"] for r in mine) == ep["latency_s"]
        for module in ("a", "b"):
            assert math.fsum(r["energy_j"] for r in mine if r["module"] == module) == ep[f"energy_j_{module}"]
    assert [e["success"] for e in episodes] == [False, True]
    assert episodes[0]["energy_j_b"] == pytest.approx(0.6)


def test_unfinished_episode_rows_are_not_written(tmp_path):
    recorder = TraceRecorder(("a", "b"))
    _record(recorder, 0, 3)
    recorder.finish_episode(0, 0, 3, 0.0, False, None)
    _record(recorder, 1, 2)  # interrupted: never finished
    recorder.write(tmp_path)
    trace = pq.read_table(tmp_path / "trace.parquet")
    assert set(trace["episode"].to_pylist()) == {0}
    assert pq.read_table(tmp_path / "episodes.parquet").num_rows == 1


def test_energy_plot_is_written(tmp_path):
    recorder = TraceRecorder(("a", "b"))
    _record(recorder, 0, 4)
    recorder.finish_episode(0, 0, 4, 0.0, False, None)
    plot_energy(recorder.finished_trace(), tmp_path / "energy.png")
    assert (tmp_path / "energy.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(tmp_path.glob(".*.tmp"))
