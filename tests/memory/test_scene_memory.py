"""Scene memory: what perception saw, kept across steps; when to look again; the facts."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from neuralbrain.control.arm import Proprio, Workspace
from neuralbrain.control.executor import REST
from neuralbrain.errors import ConfigError
from neuralbrain.memory.scene_memory import Config, SceneMemory
from neuralbrain.payloads import Detection, Detections, SkillReport
from neuralbrain.reasoning.planner.scene import parse_facts

WS = Workspace(0.06, 0.08, 0.09, 0.01, (0.38, 0.72, -0.24, 0.24), 0.74)
TRAY = (0.56, 0.16, 0.0)
# no depth: the world points on perception's fixed plane, the cubes' tops on the table
SEEN = Detections((Detection(7, 0.9, (10.0, 20.0), (0.5, -0.1, 0.06)),
                   Detection(3, 0.8, (30.0, 20.0), (0.6, -0.1, 0.06))), tray=TRAY)


def _cube(digit: int, x: float, y: float, levels: int = 1, base: float = 0.0) -> Detection:
    """A cube at (x, y) whose top is ``levels`` cubes above ``base`` (the table, or the
    tray floor), as perception reports it with depth: its world point on that top."""
    top = base + levels * WS.cube_size_m
    return Detection(digit, 0.9, (0.0, 0.0), (x, y, top), top)


def _seen(*cubes: Detection) -> Detections:
    """One look at ``cubes`` and the tray, the cubes seen in this reading order."""
    return Detections(tuple(replace(c, pixel=(10.0 * i, 20.0)) for i, c in enumerate(cubes)),
                      TRAY)


def _inputs(detections=None, report=None, holding=False):
    arm = Proprio(np.zeros(7), np.array([0.3, 0.0, 0.5]), holding, holding)
    return {"detections": detections, "obs": {"proprio": arm.to_vector()},
            "info": {"workspace": WS}, "report": report}


def _facts(out) -> set[str]:
    """The facts, checked as the reasoner checks them, and for what the reasoner's parser
    must refuse: a cube on itself, two supports, a cycle of ``on``, two cubes held."""
    atoms = out["facts"].atoms
    parse_facts(list(atoms))
    below = {}
    for a in atoms:
        if a.startswith("on("):
            top, under = a[3:-1].split(", ")
            assert top != under and top not in below, atoms
            below[top] = under
    for start in below:
        chain, c = {start}, below[start]
        while c in below:
            assert c not in chain, f"cycle of on: {atoms}"
            chain.add(c)
            c = below[c]
    assert sum(a.startswith("holding(") for a in atoms) <= 1, atoms
    return set(atoms)


def _pick(memory, name, digit, tip=(0.5, -0.1, 0.2)):
    return memory.step(_inputs(report=SkillReport(f"pick({name})", "done", digit, tip),
                               holding=True))


def _place(memory, where, tip):
    return memory.step(_inputs(report=SkillReport(f"place({where})", "done", None, tip)))


def test_remembers_what_it_saw_and_books_writes_and_reads_on_its_backend():
    memory = SceneMemory(Config(backend="rram"))
    memory.reset(0)
    first = memory.step(_inputs())
    assert first["look"] and first["facts"].atoms == ("location(table)",)
    out = memory.step(_inputs(SEEN))
    # named in reading order (top to bottom, left to right in the image)
    assert "shows(cube_0, 7)" in out["facts"].atoms and "location(tray)" in out["facts"].atoms
    assert not out["look"]
    digit, where = out["scene"].objects["cube_0"]
    assert digit == 7 and where == pytest.approx([0.5, -0.1, 0.03], abs=0.01)
    booked = {(b.op, b.backend) for b in memory.ledger.drain()}
    assert booked == {("write", "rram"), ("matmul", "rram")}


def test_heights_are_recalled_on_the_levels_cubes_rest_at_despite_read_noise():
    memory = SceneMemory(Config(backend="rram"))
    memory.reset(0)
    memory.step(_inputs(_seen(_cube(7, 0.5, -0.1, 2), _cube(3, 0.6, 0.0),
                              _cube(1, 0.55, 0.14, 1, base=0.01))))
    heights = np.array([[memory.step(_inputs())["scene"].objects[f"cube_{k}"][1][2]
                         for k in range(3)] for _ in range(50)])
    # one memory cell holds the height: rram's read noise (~1 cm) would move a pick's aim
    assert heights == pytest.approx(np.tile([0.09, 0.03, 0.04], (50, 1)), abs=1e-9)


def test_a_place_moves_the_cube_in_memory_and_a_failure_looks_again():
    memory = SceneMemory(Config(backend="cpu"))
    memory.reset(0)
    memory.step(_inputs(SEEN))
    held = _pick(memory, "cube_1", 3, (0.6, -0.1, 0.2))
    assert "holding(cube_1)" in _facts(held) and held["scene"].held == "cube_1"
    out = _place(memory, "table", (0.45, 0.1, 0.2))
    assert not any(f.startswith(("set_aside(", "on(", "in(", "holding(")) for f in _facts(out))
    assert out["scene"].objects["cube_1"][1] == pytest.approx([0.45, 0.1, 0.03], abs=0.01)
    failed = memory.step(_inputs(report=SkillReport("pick(cube_0)", "failed", 7, (0.5, 0, 0.2))))
    assert failed["look"] and failed["settling"]


def test_a_pile_seen_from_above_rests_on_something_hidden_until_unstacked_and_looked_at():
    memory = SceneMemory(Config(backend="cpu"))
    memory.reset(0)
    # a pile of three at (0.5, -0.1): only its top, 7, is seen, three cubes up
    out = memory.step(_inputs(_seen(_cube(7, 0.5, -0.1, 3), _cube(3, 0.6, 0.0))))
    facts = _facts(out)
    assert {"object(hidden_0)", "on(cube_0, hidden_0)"} <= facts
    assert not any(f.startswith("on(cube_1") for f in facts)  # 3 stands on the table
    assert set(out["scene"].objects) == {"cube_0", "cube_1"}  # nothing hidden for the skills
    assert out["scene"].objects["cube_0"][1][2] == pytest.approx(0.15, abs=0.01)
    # unstack 7: the pick ends its on fact, the hidden thing goes with it
    facts = _facts(_pick(memory, "cube_0", 7))
    assert "holding(cube_0)" in facts and not any("hidden" in f for f in facts)
    _place(memory, "table", (0.45, 0.1, 0.2))
    rest = memory.step(_inputs(report=SkillReport(REST, "done", None, (0.3, 0.0, 0.5))))
    assert rest["look"] and rest["settling"]
    # the look reveals 5, two cubes up: it rests on something unseen too, numbered anew
    seen = _seen(_cube(7, 0.45, 0.1), _cube(3, 0.6, 0.0), _cube(5, 0.5, -0.1, 2))
    out = memory.step(_inputs(seen))
    facts = _facts(out)
    assert "shows(cube_2, 5)" in facts and not out["look"]
    assert {"object(hidden_1)", "on(cube_2, hidden_1)"} <= facts
    assert not any(f.startswith(("on(cube_0", "on(cube_1")) for f in facts)
    assert out["scene"].objects["cube_0"][1] == pytest.approx([0.45, 0.1, 0.03], abs=0.01)
    # unstack 5: the look reveals 2 on the table, and nothing rests on anything any more
    _pick(memory, "cube_2", 5)
    _place(memory, "table", (0.45, -0.2, 0.2))
    memory.step(_inputs(report=SkillReport(REST, "done", None, (0.3, 0.0, 0.5))))
    seen = _seen(*seen.cubes[:2], _cube(5, 0.45, -0.2), _cube(2, 0.5, -0.1))
    facts = _facts(memory.step(_inputs(seen)))
    assert "shows(cube_3, 2)" in facts
    assert not any(f.startswith(("on(", "object(")) for f in facts)


def test_one_cube_seen_twice_in_a_look_is_one_cube_read_as_the_more_confident():
    memory = SceneMemory(Config(backend="cpu"))
    memory.reset(0)
    doubt = replace(_cube(9, 0.574, -0.147, 3), confidence=0.05)
    facts = _facts(memory.step(_inputs(_seen(doubt, _cube(4, 0.575, -0.15, 3),
                                             _cube(1, 0.64, -0.15)))))  # a cube away: another
    assert {f for f in facts if f.startswith(("shows(", "on(", "object("))} == {
        "shows(cube_0, 4)", "shows(cube_1, 1)", "object(hidden_0)", "on(cube_0, hidden_0)"}


def test_a_new_digit_read_where_a_known_cube_stands_is_that_cube_misread():
    memory = SceneMemory(Config(backend="cpu"))
    memory.reset(0)
    memory.step(_inputs(_seen(_cube(1, 0.42, 0.12), _cube(5, 0.70, 0.20))))
    memory.step(_inputs(report=SkillReport(REST, "done", None, (0.3, 0.0, 0.5))))
    # cube 1 seen twice, as 1 and (more confidently) as 0: the one memory knows there
    twice = _seen(replace(_cube(1, 0.423, 0.137), confidence=0.96),
                  replace(_cube(0, 0.423, 0.111), confidence=0.99), _cube(5, 0.70, 0.20))
    facts = _facts(memory.step(_inputs(twice)))
    assert {f for f in facts if f.startswith("shows(")} == {"shows(cube_0, 1)", "shows(cube_1, 5)"}
    # cube 1 seen once, read as 0: no new cube either; a 0 elsewhere is one
    memory.step(_inputs(report=SkillReport(REST, "done", None, (0.3, 0.0, 0.5))))
    facts = _facts(memory.step(_inputs(_seen(_cube(0, 0.425, 0.12), _cube(5, 0.70, 0.20)))))
    assert not any(f.startswith("shows(cube_2") for f in facts)
    memory.step(_inputs(report=SkillReport(REST, "done", None, (0.3, 0.0, 0.5))))
    facts = _facts(memory.step(_inputs(_seen(_cube(0, 0.52, 0.12), _cube(5, 0.70, 0.20)))))
    assert "shows(cube_2, 0)" in facts


def test_a_pile_on_a_cube_it_knows_rests_on_that_cube_one_level_down():
    memory = SceneMemory(Config(backend="cpu"))
    memory.reset(0)
    memory.step(_inputs(_seen(_cube(4, 0.5, -0.1))))
    # after a failure every cube is looked at again: 8 is three levels up where 4 stood, so
    # something unseen is between them
    memory.step(_inputs(report=SkillReport("pick(cube_0)", "failed", 4, (0.5, -0.1, 0.2))))
    facts = _facts(memory.step(_inputs(_seen(_cube(8, 0.51, -0.09, 3)))))
    assert {"object(hidden_0)", "on(cube_1, hidden_0)"} <= facts
    assert "on(cube_1, cube_0)" not in facts
    # looked at again, the same unseen thing keeps its name
    memory.step(_inputs(report=SkillReport("pick(cube_1)", "failed", 8, (0.5, -0.1, 0.2))))
    facts = _facts(memory.step(_inputs(_seen(_cube(8, 0.51, -0.09, 3)))))
    assert "on(cube_1, hidden_0)" in facts and "object(hidden_1)" not in facts
    # two levels up, within half a cube of 4: on 4
    memory.step(_inputs(report=SkillReport("pick(cube_1)", "failed", 8, (0.5, -0.1, 0.2))))
    facts = _facts(memory.step(_inputs(_seen(_cube(8, 0.51, -0.09, 2)))))
    assert "on(cube_1, cube_0)" in facts and not any("hidden" in f for f in facts)
    # a cube seen from above has nothing on it: 4 is seen again (8 went who knows where)
    memory.step(_inputs(report=SkillReport("pick(cube_1)", "failed", 8, (0.5, -0.1, 0.2))))
    out = memory.step(_inputs(_seen(_cube(4, 0.5, -0.1))))
    assert not any(f.startswith(("on(", "object(")) for f in _facts(out))


def test_two_placements_in_the_tray_stack_there_and_a_look_agrees():
    memory = SceneMemory(Config(backend="cpu"))
    memory.reset(0)
    memory.step(_inputs(SEEN))
    _pick(memory, "cube_0", 7)
    out = _place(memory, "tray", (0.56, 0.16, 0.25))
    assert "in(cube_0, tray)" in _facts(out) and not any(f.startswith("on(") for f in _facts(out))
    # on the tray floor (0.01 m): centre half a cube above it
    assert out["scene"].objects["cube_0"][1] == pytest.approx([0.56, 0.16, 0.04], abs=0.01)
    _pick(memory, "cube_1", 3, (0.6, -0.1, 0.2))
    out = _place(memory, "tray", (0.565, 0.155, 0.25))
    facts = _facts(out)
    assert {"in(cube_0, tray)", "in(cube_1, tray)", "on(cube_1, cube_0)"} <= facts
    assert out["scene"].objects["cube_1"][1] == pytest.approx([0.565, 0.155, 0.10], abs=0.01)
    # a look after a failure sees 3 on top, two levels above the tray floor: on 7 by sight
    memory.step(_inputs(report=SkillReport("pick(cube_1)", "failed", 3, (0.5, 0.1, 0.2))))
    out = memory.step(_inputs(_seen(_cube(3, 0.562, 0.158, 2, base=0.01))))
    assert {"in(cube_0, tray)", "in(cube_1, tray)", "on(cube_1, cube_0)"} <= _facts(out)
    # taking 3 out of the tray ends its in and on facts
    facts = _facts(_pick(memory, "cube_1", 3, (0.56, 0.16, 0.2)))
    assert "in(cube_0, tray)" in facts and not any(f.startswith(("on(", "in(cube_1")) for f in facts)


def test_a_cube_seen_inside_the_tray_is_in_it():
    memory = SceneMemory(Config(backend="cpu"))
    memory.reset(0)
    # the tray floor lifts its top to 0.07: still one level up, on the tray, not on a cube
    out = memory.step(_inputs(_seen(_cube(6, 0.60, 0.20, 1, base=0.01),
                                          _cube(1, 0.60, 0.25))))
    facts = _facts(out)
    assert "in(cube_0, tray)" in facts and "in(cube_1, tray)" not in facts  # 0.09 out in y
    assert not any(f.startswith(("on(", "object(")) for f in facts)


def test_only_cubes_within_the_arms_reach_are_reachable():
    memory = SceneMemory(Config(backend="cpu"))
    memory.reset(0)
    seen = _seen(_cube(0, 0.70, -0.22),    # 0.733 m from the base
                       _cube(1, 0.71, 0.22),     # 0.743 m: DigitPick's outermost cube spot
                       _cube(2, 0.76, 0.16),     # 0.777 m: out of reach
                       _cube(3, 0.55, 0.0))
    facts = _facts(memory.step(_inputs(seen)))
    assert {f for f in facts if f.startswith("reachable(")} == {
        "reachable(cube_0)", "reachable(cube_1)", "reachable(cube_3)"}
    strict = SceneMemory(Config(backend="cpu", reach_margin_m=0.0))
    strict.reset(0)
    assert "reachable(cube_1)" not in _facts(strict.step(_inputs(seen)))
    with pytest.raises(ConfigError, match="reach_margin_m = -0.01"):
        Config(reach_margin_m=-0.01)


def test_facts_stay_consistent_through_random_moves_and_looks():
    rng = np.random.default_rng(0)
    memory = SceneMemory(Config(backend="rram"))
    for episode in range(20):
        memory.reset(episode)
        spots = [(0.45 + 0.09 * i, -0.15 + 0.07 * j) for i in range(3) for j in range(3)]
        digits = rng.permutation(10)
        held = None
        for step in range(12):
            out = memory.step(_inputs())
            names = {n: d for n, (d, _) in out["scene"].objects.items()}
            kind = rng.integers(4) if names else 0
            if kind == 0:  # a look at random cubes and piles, some inside the tray
                cubes = []
                for k in range(int(rng.integers(1, 5))):
                    x, y = spots[int(rng.integers(len(spots)))]
                    if rng.random() < 0.3:
                        x, y = TRAY[0] + rng.uniform(-0.05, 0.05), TRAY[1]
                    cubes.append(_cube(int(digits[k + step % 3]), x, y, int(rng.integers(1, 4)),
                                       0.01 if y == TRAY[1] else 0.0))
                report = None if rng.random() < 0.5 else SkillReport("pick(x)", "failed", None,
                                                                      (0.3, 0, 0.5))
                memory.step(_inputs(report=report))
                out = memory.step(_inputs(_seen(*cubes)))
            elif held is None:
                name = sorted(names)[int(rng.integers(len(names)))]
                held = names[name]
                out = _pick(memory, name, held)
            else:
                out = _place(memory, "tray" if kind == 1 else "table", (0.56, 0.16, 0.3))
                held = None
            _facts(out)
