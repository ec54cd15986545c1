import json
import re
from html.parser import HTMLParser

import pytest

from neuralbrain.cli import main
from neuralbrain.errors import DataError
from neuralbrain.report import compare_runs, summarize, write_report
from neuralbrain.runner import load_agent, run


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    for name, episodes in (("a", 2), ("b", 3)):
        agent = load_agent("random_debug", overrides=["env.max_episode_steps=15"])
        run(agent, episodes, out=root / name, seed=0)
    return root / "a", root / "b"


class _Images(HTMLParser):
    def __init__(self):
        super().__init__()
        self.sources = []

    def handle_starttag(self, tag, attrs):
        if tag == "img":
            self.sources.append(dict(attrs)["src"])


def test_report_is_self_contained_and_states_the_figures(runs):
    page = write_report(runs[0]).read_text()
    parser = _Images()
    parser.feed(page)
    assert len(parser.sources) == 3
    assert all(src.startswith("data:image/png;base64,") for src in parser.sources)
    assert not re.search(r'(src|href)="(?!data:)', page)
    s = summarize(runs[0])
    assert s["episodes"] == 2 and s["backends"] == {"policy": "cpu"}
    assert "type = &quot;random_policy&quot;" in page


def test_compare_gives_ratios_per_module(runs):
    c = compare_runs(*runs)
    assert c["a"]["episodes"] == 2 and c["b"]["episodes"] == 3
    expected = c["b"]["energy_j_per_episode"] / c["a"]["energy_j_per_episode"]
    assert c["energy_ratio"] == pytest.approx(expected)
    assert set(c["energy_ratio_by_module"]) == {"policy"}


def test_cli_report_and_compare(runs, tmp_path, capsys):
    assert main(["report", str(runs[0]), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["report"].endswith("report.html")
    assert main(["compare", str(runs[0]), str(runs[1]), "--out", str(tmp_path / "c.html")]) == 0
    assert "success rate" in capsys.readouterr().out
    assert (tmp_path / "c.html").exists()


def test_not_a_run_directory(tmp_path, capsys):
    with pytest.raises(DataError, match="expected a run directory"):
        summarize(tmp_path)
    assert main(["report", str(tmp_path)]) == 2


def test_energy_is_broken_down_by_module_and_by_backend(tmp_path, capsys):
    from neuralbrain.energy import Cost, Ledger
    from neuralbrain.trace import TraceRecorder

    perception, planner = Ledger(), Ledger()
    recorder = TraceRecorder(("perception", "planner"))
    for step in range(2):  # one module on two backends, one far costlier than the other
        perception.book("conv1", Cost(2e-6), backend="in_sensor")
        perception.book("conv2", Cost(3e-6), backend="neuromorphic")
        planner.book("mpgemm", Cost(0.5), backend="lut")
        recorder.record_step(0, step, 0.1 * step, {"perception": perception, "planner": planner},
                             {"perception": "neuromorphic", "planner": "lut"})
    recorder.finish_episode(0, 0, 2, 0.0, True, None)
    recorder.write(tmp_path)
    s = summarize(tmp_path)
    assert s["energy_j_per_episode_by_backend"] == pytest.approx(
        {"in_sensor": 4e-6, "neuromorphic": 6e-6, "lut": 1.0})
    assert s["energy_j_per_episode_by_module_backend"]["perception"] == pytest.approx(
        {"in_sensor": 4e-6, "neuromorphic": 6e-6})
    assert s["backends"]["perception"] == "in_sensor+neuromorphic"
    assert main(["report", str(tmp_path), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert set(printed["energy_j_per_episode_by_backend"]) == {"in_sensor", "neuromorphic", "lut"}
    assert "in_sensor 4e-06 J" in write_report(tmp_path).read_text()


def test_report_and_compare_read_the_single_file_layout_too(runs, tmp_path, capsys):
    import pyarrow.parquet as pq

    from neuralbrain.runner import read_run

    old = tmp_path / "old"
    old.mkdir()
    result = read_run(runs[0])
    pq.write_table(result.trace, old / "trace.parquet")  # schema 1: one file each
    pq.write_table(result.episodes, old / "episodes.parquet")
    (old / "config.toml").write_text((runs[0] / "config.toml").read_text())
    new_figures = {k: v for k, v in summarize(runs[0]).items() if k != "run"}
    assert {k: v for k, v in summarize(old).items() if k != "run"} == new_figures
    assert write_report(old).is_file()
    assert main(["compare", str(old), str(runs[0]), str(runs[1]), "--plot",
                 str(tmp_path / "c.png"), "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)["entries"]
    assert [e["episodes"] for e in entries] == [2, 2, 3]
    assert entries[0]["energy_j"] == entries[1]["energy_j"]
