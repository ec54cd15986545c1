"""Untrusted files through the CLI: one line on stderr naming the file, exit code 2."""

from __future__ import annotations

import pytest

from neuralbrain.cli import main


def _files(tmp_path):
    deep_mpl = tmp_path / "deep.mpl"
    deep_mpl.write_text("(axiom a " + "(not " * 5000 + "(= 0 0)" + ")" * 5001)
    deep_toml = tmp_path / "deep.toml"
    deep_toml.write_text("a = " + "[" * 50_000)
    binary_toml = tmp_path / "binary.toml"
    binary_toml.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00")
    deep_json = tmp_path / "deep.json"
    deep_json.write_text("[" * 100_000)
    cut_gguf = tmp_path / "cut.gguf"
    cut_gguf.write_bytes(b"GGUF\x03\x00\x00\x00" + b"\xff" * 16)
    facts = tmp_path / "facts.json"
    facts.write_text('["shows(cube_1, 3)"]')
    return {
        "deep.mpl": ["prove", str(deep_mpl)],
        "deep.toml": ["run", str(deep_toml)],
        "binary.toml": ["run", str(binary_toml)],
        "deep.json": ["plan", "put the three in the tray", "--facts", str(deep_json)],
        "cut.gguf": ["plan", "put the three in the tray", "--facts", str(facts),
                     "--model", str(cut_gguf)],
    }


@pytest.mark.parametrize("name", ["deep.mpl", "deep.toml", "binary.toml", "deep.json",
                                  "cut.gguf"])
def test_bad_file_is_one_line_naming_it_with_exit_code_2(tmp_path, capsys, name):
    argv = _files(tmp_path)[name]
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("neuralbrain: error: ") and name in lines[0]
    assert "Traceback" not in err
