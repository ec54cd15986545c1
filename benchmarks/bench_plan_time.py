"""How long the LLM planner takes to read a goal, with its disk cache and without.

Per backend (``cpu``, ``lut``), each in a fresh process (imports and numba's kernel load
included where they fall):

- ``load``: building ``LlmPlanner`` (GGUF read, weights placed on the backend);
- ``first``: the first plan of the process (``commands.plan_request``, "put the seven in the
  tray", 2 cubes): both fixed prompt prefixes, the relation phrases and the copied line;
- ``loaded``: a second plan in the same process, a two-step plan (pick, place) on the same
  scene, "put the three in the tray" (the request-free phrase scores of that scene are
  memoized);
- ``two items``: a third plan, "put the three and then the seven in the tray" on the same
  scene: a two-item line, which the planner reads again (``PlannerConfig.rerank``: a beam of
  lines, each scored by the reversed prompt too, whose prefix this plan loads);
- ``new scene``: a fourth plan, a two-item request on a scene of 3 other cubes, a different
  scene in every process (nothing of it memoized or cached);
- ``cli``: ``neuralbrain plan "put the seven in the tray" --facts F --backend B``, wall time of
  the whole command.

Every figure is measured with the cache warm (``prompt_cache``: a first process fills it; the
folder is ``$NEURALBRAIN_CACHE`` if set, else a temporary one removed afterwards) and with
it off (``PlannerConfig(prompt_cache=False)``, ``--no-prompt-cache``) in the same run, and
the ratio off/on is printed. Readings are identical either way (checked here: the goals and
every printed score of the three plans). Wall times on a shared machine vary by 10-20%:
``--repeat`` takes the median of several processes.

    OMP_NUM_THREADS=1 python benchmarks/bench_plan_time.py [--backends cpu lut] [--repeat 1]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FACTS = ["shows(cube_1, 7)", "reachable(cube_1)", "shows(cube_2, 3)", "reachable(cube_2)"]
WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
# the new scenes: process k gets NEW_SCENES[k] (none of them is FACTS's)
NEW_SCENES = ((2, 9, 4), (1, 5, 8), (6, 0, 2), (9, 4, 1), (8, 2, 6), (5, 1, 9), (4, 6, 0),
              (0, 8, 5), (2, 5, 6), (1, 9, 8))
COLUMNS = ("load", "first", "loaded", "two items", "new scene", "cli")


def plans(scene: int) -> list[tuple[str, str, list[str]]]:
    """The plans of a process; ``scene`` < 0: without the new scene (the cache's warm-up)."""
    out = [("first", "put the seven in the tray", FACTS),
           ("loaded", "put the three in the tray", FACTS),
           ("two items", "put the three and then the seven in the tray", FACTS)]
    if scene >= 0:
        a, b, c = NEW_SCENES[scene % len(NEW_SCENES)]
        facts = [f for i, d in enumerate((a, b, c), 1)
                 for f in (f"shows(cube_{i}, {d})", f"reachable(cube_{i})")]
        out.append(("new scene", f"put the {WORDS[b]} and then the {WORDS[a]} in the tray",
                    facts))
    return out


def child(backend: str, cache: bool, scene: int) -> None:
    """One process: load, then the plans; prints one JSON line of seconds + readings."""
    t0 = time.perf_counter()
    from neuralbrain.reasoning.gl.module import Config as ReasonerConfig
    from neuralbrain.reasoning.gl.module import SceneReasoner
    from neuralbrain.reasoning.planner.commands import plan_request
    from neuralbrain.reasoning.planner.planner import LlmPlanner, PlannerConfig

    planner = LlmPlanner(PlannerConfig(backend=backend, prompt_cache=cache))
    reasoner = SceneReasoner(ReasonerConfig(backend="logic_grid"))
    out = {"load": time.perf_counter() - t0, "readings": {}}
    for name, request, facts in plans(scene):
        t = time.perf_counter()
        reading = plan_request(planner, reasoner, request, facts)["reading"]
        out[name] = time.perf_counter() - t
        out["readings"][name] = {k: reading[k] for k in ("goal", "steps", "phrases", "lines")}
    print(json.dumps(out))


def run_child(backend: str, cache: bool, env: dict, scene: int) -> dict:
    cmd = [sys.executable, __file__, "--child", backend, "1" if cache else "0", str(scene)]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_cli(backend: str, cache: bool, env: dict, facts: Path) -> float:
    cmd = [sys.executable, "-m", "neuralbrain", "plan", "put the seven in the tray",
           "--facts", str(facts), "--backend", backend]
    t = time.perf_counter()
    subprocess.run(cmd + ([] if cache else ["--no-prompt-cache"]), env=env,
                   capture_output=True, text=True, check=True)
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--backends", nargs="+", default=["cpu", "lut"])
    ap.add_argument("--repeat", type=int, default=1, help="processes per figure (median)")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child[0], args.child[1] == "1", int(args.child[2]))
        return
    if not 1 <= args.repeat <= len(NEW_SCENES):
        raise SystemExit(f"--repeat {args.repeat}: expected 1..{len(NEW_SCENES)} (one new "
                         "scene per process)")
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ)
        env.setdefault("NEURALBRAIN_CACHE", str(Path(tmp) / "cache"))
        env.setdefault("OMP_NUM_THREADS", "1")
        facts = Path(tmp) / "facts.json"
        facts.write_text(json.dumps(FACTS))
        print(f"cache folder {env['NEURALBRAIN_CACHE']}; seconds, median of {args.repeat}")
        print(f"{'backend':>7} {'cache':>5} " + " ".join(f"{c:>10}" for c in COLUMNS))
        rows = {}
        for backend in args.backends:
            run_child(backend, True, env, -1)  # fills the cache (and numba's kernel cache)
            for cache in (True, False):
                runs = [run_child(backend, cache, env, k) for k in range(args.repeat)]
                same = ("loaded", "two items")  # the new scene differs by design
                if any(r["readings"][k] != runs[0]["readings"][k] for r in runs for k in same):
                    raise SystemExit(f"{backend}: readings differ between processes")
                row = {c: statistics.median(r[c] for r in runs) for c in COLUMNS[:-1]}
                row["cli"] = statistics.median(run_cli(backend, cache, env, facts)
                                               for _ in range(args.repeat))
                rows[backend, cache] = row, runs[0]["readings"]
                print(f"{backend:>7} {'on' if cache else 'off':>5} "
                      + " ".join(f"{row[c]:10.2f}" for c in COLUMNS), flush=True)
            (on, read_on), (off, read_off) = rows[backend, True], rows[backend, False]
            if read_on != read_off:
                raise SystemExit(f"{backend}: readings differ with the cache on and off")
            print(f"{backend:>7} {'ratio':>5} "
                  + " ".join(f"{off[c] / on[c]:9.2f}x" for c in COLUMNS)
                  + "   (off / on; readings identical)", flush=True)
        print(json.dumps({f"{b}-{'on' if c else 'off'}": r for (b, c), (r, _) in rows.items()}))


if __name__ == "__main__":
    main()
