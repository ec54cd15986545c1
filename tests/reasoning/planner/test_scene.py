from __future__ import annotations

import pytest

from neuralbrain.errors import DataError
from neuralbrain.reasoning.planner.scene import DEFAULT_PLACES, parse_atom, parse_facts

FACTS = ["shows(cube_1, 3)", "shows(cube_2, 7)", "reachable(cube_2)"]


def test_parse_atom_and_scene():
    assert parse_atom(" shows( cube_2 ,7 ) ").args == ("cube_2", "7")
    scene = parse_facts(FACTS)
    assert scene.objects == ("cube_1", "cube_2") and scene.digits["cube_2"] == "7"
    assert scene.places == DEFAULT_PLACES
    derived = parse_facts(FACTS + ["largest(cube_2)", "smallest_odd(cube_1)",
                                   "one_more(cube_2, 6)"])
    assert derived.relation_phrases() == [
        ("the largest number", "cube_2"), ("the biggest number", "cube_2"),
        ("the smallest odd number", "cube_1"), ("one more than six", "cube_2"),
        ("the number after the six", "cube_2"), ("the number that comes after 6", "cube_2")]
    assert parse_facts(FACTS + ["location(shelf)"]).places == ("shelf",)


@pytest.mark.parametrize("bad, match", [
    (["shows cube_1 3"], "expected a ground atom"),
    (["shows(cube_1, 3)", "reachable(cube_9)"], "unknown object 'cube_9'"),
    (["reachable(cube_1)"], "declare no object"),
    (["shows(cube_1)"], r"expected shows\(OBJECT, DIGIT\)"),
    (["shows(cube-1, 3)"], "not a name or number"),
    ("shows(cube_1, 3)", "expected a list"),
    (["shows(cube_1, 3)", "on(cube_1, cube_1)"], "cannot rest on itself"),
    (["shows(cube_1, 3)", "shows(cube_2, 4)", "on(cube_1, cube_2)", "on(cube_2, cube_1)"],
     "cycle"),
    (["shows(cube_1, 3)", "shows(cube_2, 4)", "shows(cube_3, 5)", "on(cube_1, cube_2)",
      "on(cube_1, cube_3)"], "rests on both cube_2 and cube_3"),
    (["shows(cube_1, 3)", "shows(cube_2, 4)", "holding(cube_1)", "holding(cube_2)"],
     "holds"),
])
def test_bad_facts_name_what_is_wrong(bad, match):
    with pytest.raises(DataError, match=match):
        parse_facts(bad)


# -- facts from a file are untrusted ---------------------------------------------
def test_a_long_chain_of_supports_is_checked_in_linear_time():
    import time

    n = 3000
    facts = [f"object(c{i})" for i in range(n)] + [f"on(c{i}, c{i + 1})" for i in range(n - 1)]
    t0 = time.perf_counter()
    scene = parse_facts(facts)
    assert len(scene.objects) == n
    assert time.perf_counter() - t0 < 20  # the old walk was cubic: ~10**10 steps here
    with pytest.raises(DataError, match="cycle: c0 on c1 on c2 on c0"):
        parse_facts(["object(c0)", "object(c1)", "object(c2)", "object(c3)",
                     "on(c3, c0)", "on(c0, c1)", "on(c1, c2)", "on(c2, c0)"])


def test_read_facts_limits(tmp_path, monkeypatch):
    from neuralbrain.reasoning.planner import commands

    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000)
    with pytest.raises(DataError, match=r"deep.json' nests JSON too deeply"):
        commands.read_facts(deep)
    monkeypatch.setattr(commands, "MAX_FACTS_BYTES", 10)
    big = tmp_path / "big.json"
    big.write_text('["object(a)"]')
    with pytest.raises(DataError, match=r"big.json' is 13 bytes: expected at most 10"):
        commands.read_facts(big)
    monkeypatch.setattr(commands, "MAX_FACTS_BYTES", 1 << 20)
    monkeypatch.setattr(commands, "MAX_FACTS", 1)
    big.write_text('["object(a)", "object(b)"]')
    with pytest.raises(DataError, match=r"holds 2 facts: expected at most 1"):
        commands.read_facts(big)
