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
    assert "pick(cube_1)" in scene.skills() and "done()" in scene.skills()
    assert "(seven)" in scene.describe() and "out of reach" in scene.describe()
    assert parse_facts(FACTS + ["location(shelf)"]).places == ("shelf",)


@pytest.mark.parametrize("bad, match", [
    (["shows cube_1 3"], "expected a ground atom"),
    (["shows(cube_1, 3)", "reachable(cube_9)"], "unknown object 'cube_9'"),
    (["reachable(cube_1)"], "declare no object"),
    (["shows(cube_1)"], r"expected shows\(OBJECT, DIGIT\)"),
    (["shows(cube-1, 3)"], "not a name or number"),
    ("shows(cube_1, 3)", "expected a list"),
])
def test_bad_facts_name_what_is_wrong(bad, match):
    with pytest.raises(DataError, match=match):
        parse_facts(bad)
