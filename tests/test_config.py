from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pytest

from neuralbrain.config import (
    apply_overrides,
    build,
    dumps_toml,
    load_toml,
    parse_override,
)
from neuralbrain.errors import ConfigError


@dataclass(frozen=True)
class Inner:
    backend: str = "cpu"
    tau_mem_s: float = 0.02
    mode: Literal["a", "b"] = "a"


@dataclass(frozen=True)
class Outer:
    n: int
    inner: Inner = field(default_factory=Inner)
    sizes: tuple[int, ...] = (1, 2)
    name: str | None = None


def test_build_fills_defaults_and_nested_tables():
    cfg = build(Outer, {"n": 3, "inner": {"tau_mem_s": 1}, "sizes": [4, 5, 6]})
    assert cfg == Outer(3, Inner(tau_mem_s=1.0), (4, 5, 6))
    assert isinstance(cfg.inner.tau_mem_s, float)


def test_unknown_key_lists_the_fields():
    with pytest.raises(ConfigError, match=r"\[inner\] has unknown key\(s\) \['tau'\].*'tau_mem_s'"):
        build(Outer, {"n": 1, "inner": {"tau": 0.1}})


@pytest.mark.parametrize(
    "data, message",
    [
        ({"n": "three"}, r"n = 'three': expected an integer"),
        ({"n": True}, r"n = True: expected an integer"),
        ({"n": 1, "inner": {"tau_mem_s": "fast"}}, r"inner.tau_mem_s = 'fast': expected a number"),
        ({"n": 1, "inner": {"mode": "c"}}, r"inner.mode = 'c': expected one of \['a', 'b'\]"),
        ({"n": 1, "sizes": [1, "x"]}, r"sizes\[1\] = 'x': expected an integer"),
        ({}, r"missing required key\(s\) \['n'\]"),
    ],
)
def test_wrong_types_name_the_key_and_the_expected_type(data, message):
    with pytest.raises(ConfigError, match=message):
        build(Outer, data)


def test_overrides_parse_toml_values_and_bare_strings():
    assert parse_override("a.b=3") == (["a", "b"], 3)
    assert parse_override("a.b=rram") == (["a", "b"], "rram")
    assert parse_override("a=[1, 2]") == (["a"], [1, 2])
    assert apply_overrides({"a": {"b": 1}}, ["a.b=2", "c.d=true"]) == {"a": {"b": 2}, "c": {"d": True}}
    with pytest.raises(ConfigError, match="expected the form section.key=value"):
        parse_override("novalue")
    with pytest.raises(ConfigError, match="is a value, not a table"):
        apply_overrides({"a": 1}, ["a.b=2"])


def test_toml_round_trip(tmp_path):
    data = {"agent": "x", "seed": 3, "env": {"id": "a/b", "n": [1, 2]}, "m": {"k": 0.5, "s": 'q"t'}}
    path = tmp_path / "c.toml"
    path.write_text(dumps_toml(data))
    assert load_toml(path) == data


def test_missing_file_and_bad_toml(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_toml(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("a = [1,\n")
    with pytest.raises(ConfigError, match="invalid TOML"):
        load_toml(bad)


# -- the writer: valid TOML for everything it accepts ---------------------------
def test_writer_non_ascii_keys_and_control_characters_round_trip(tmp_path):
    import tomllib

    data = {
        "modules": {"caméra": {"gain": 1.5, "nom": "œil\x00\x07\t\x1f\x7f\"\\ fin"}},
        "Ω": [1, 2], "a b": {"c.d": "e"}, "nan": float("inf"), "multi": "a\nb\r\nc",
    }
    text = dumps_toml(data)
    assert tomllib.loads(text) == data
    path = tmp_path / "c.toml"
    path.write_text(text, encoding="utf-8")
    assert load_toml(path) == data


def test_writer_leaves_out_none_in_tables_and_refuses_none_in_lists():
    import tomllib

    assert tomllib.loads(dumps_toml({"env": {"id": "x", "max_episode_steps": None}})) == {
        "env": {"id": "x"}
    }
    with pytest.raises(ConfigError, match=r"run\.seeds\[1\] = None .* expected a list without"):
        dumps_toml({"run": {"seeds": [1, None, 3]}})


def test_writer_refuses_what_toml_cannot_hold():
    with pytest.raises(ConfigError, match=r"a = 18446744073709551616 .* 64-bit"):
        dumps_toml({"a": 2**64})
    with pytest.raises(ConfigError, match=r"b\.c = \{1, 2\} \(set\)"):
        dumps_toml({"b": {"c": {1, 2}}})
    with pytest.raises(ConfigError, match="expected a string key"):
        dumps_toml({1: "x"})


def test_loader_refuses_non_utf8_deep_nesting_and_huge_files(tmp_path, monkeypatch):
    import neuralbrain.config as config

    bad = tmp_path / "bin.toml"
    bad.write_bytes(b"a = 1\n\xff\xfe")
    with pytest.raises(ConfigError, match=r"bin.toml: byte 6 is not UTF-8 \(0xff\)"):
        load_toml(bad)
    deep = tmp_path / "deep.toml"
    deep.write_text("a = " + "[" * 50_000)
    with pytest.raises(ConfigError, match="nested too deeply"):
        load_toml(deep)
    monkeypatch.setattr(config, "MAX_TOML_BYTES", 10)
    big = tmp_path / "big.toml"
    big.write_text("a = 123456789\n")
    with pytest.raises(ConfigError, match="14 bytes, expected a TOML config of at most 10"):
        load_toml(big)
