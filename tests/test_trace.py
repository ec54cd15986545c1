import math

import pyarrow.dataset as ds
import pyarrow.parquet as pq
import pytest

from neuralbrain.energy import Cost, Ledger
from neuralbrain.trace import (
    COMMON_METADATA,
    SCHEMA_VERSION_KEY,
    TRACE_SCHEMA,
    TraceRecorder,
    part_name,
    plot_energy,
    read_run_metadata,
    read_run_tables,
)


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


def _stats(folder):
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns, p.stat().st_size)
            for p in folder.iterdir()}


def test_each_write_appends_one_part_and_rewrites_nothing(tmp_path):
    recorder = TraceRecorder(("a", "b"), {"neuralbrain.seed": "7"})
    seen = {}
    for episode in range(4):
        _record(recorder, episode, 3)
        recorder.finish_episode(episode, episode, 3, 0.0, False, None)
        recorder.write(tmp_path)
        for name in ("trace.parquet", "episodes.parquet"):
            now = _stats(tmp_path / name)
            before = seen.get(name, {})
            assert {k: now[k] for k in before} == before  # no part rewritten
            assert set(now) - set(before) == ({part_name(episode)} if before else
                                              {part_name(0), COMMON_METADATA})
            seen[name] = now
    recorder.write(tmp_path)  # nothing finished since: nothing written
    assert _stats(tmp_path / "trace.parquet") == seen["trace.parquet"]
    episodes, trace = read_run_tables(tmp_path)
    assert episodes["episode"].to_pylist() == [0, 1, 2, 3]
    assert trace.equals(recorder.finished_trace())
    assert pq.read_table(tmp_path / "trace.parquet").equals(trace)  # pyarrow reads the folder
    assert ds.dataset(tmp_path / "episodes.parquet").to_table().num_rows == 4
    meta = read_run_metadata(tmp_path)
    assert meta[SCHEMA_VERSION_KEY] == "2" and meta["neuralbrain.seed"] == "7"
    part = pq.read_schema(tmp_path / "trace.parquet" / part_name(2)).metadata
    assert part[SCHEMA_VERSION_KEY.encode()] == b"2"


def test_a_trace_part_without_its_episodes_part_is_not_read(tmp_path):
    recorder = TraceRecorder(("a", "b"))
    for episode in range(3):
        _record(recorder, episode, 2)
        recorder.finish_episode(episode, episode, 2, 0.0, False, None)
        recorder.write(tmp_path)
    (tmp_path / "episodes.parquet" / part_name(2)).unlink()  # killed between the two writes
    episodes, trace = read_run_tables(tmp_path)
    assert episodes["episode"].to_pylist() == [0, 1]
    assert set(trace["episode"].to_pylist()) == {0, 1}


def test_the_single_file_layout_of_schema_1_still_reads(tmp_path):
    recorder = TraceRecorder(("a", "b"))
    _record(recorder, 0, 3)
    recorder.finish_episode(0, 0, 3, 0.0, True, None)
    pq.write_table(recorder.finished_trace().replace_schema_metadata(None), tmp_path / "trace.parquet")
    pq.write_table(recorder.episodes_table().replace_schema_metadata(None),
                   tmp_path / "episodes.parquet")
    episodes, trace = read_run_tables(tmp_path)
    assert trace.equals(recorder.finished_trace()) and episodes.num_rows == 1
    assert read_run_metadata(tmp_path)[SCHEMA_VERSION_KEY] == "1"
    recorder2 = TraceRecorder(("a", "b"))  # a new run over an old directory replaces it
    _record(recorder2, 0, 1)
    recorder2.finish_episode(0, 0, 1, 0.0, True, None)
    recorder2.write(tmp_path)
    assert (tmp_path / "trace.parquet").is_dir()
    assert read_run_tables(tmp_path)[1].num_rows == 3  # one step: a books two ops, b idles
