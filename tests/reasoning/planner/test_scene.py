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
    assert scene.describe() == "Cubes: 3 (three), 7 (seven)."
    derived = parse_facts(FACTS + ["largest(cube_2)", "smallest_odd(cube_1)",
                                   "one_more(cube_2, 6)"])
    assert derived.describe().splitlines()[1:] == ["Facts: largest 7, smallest odd 3.",
                                                   "Neighbours: after 6 comes 7."]
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
