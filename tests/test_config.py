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
