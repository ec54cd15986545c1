import json
import re
from html.parser import HTMLParser

import pytest

from neuralbrain.cli import main
from neuralbrain.config import experiment_from_dict
from neuralbrain.errors import DataError
from neuralbrain.report import compare_runs, summarize, write_report
from neuralbrain.runner import run_episodes


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    for name, episodes in (("a", 2), ("b", 3)):
        cfg = experiment_from_dict({
            "agent": "random", "seed": 0, "env": {"id": "CartPole-v1", "max_episode_steps": 15},
            "run": {"episodes": episodes, "progress": False}})
        run_episodes(cfg, root / name)
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
    assert "agent = &quot;random&quot;" in page


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
