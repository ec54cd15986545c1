"""The independent checker: a small kernel that replays every proof step from the theory file.

It shares nothing with the prover but the JSON proof document: it has its own reader for the
theory (a deliberately minimal S-expression reader that only understands the declarations a
proof can rest on), its own reading of relational statements as equations, its own matching
and replacement. A theorem is accepted only if

1. its relational ``statement`` re-reads (by this kernel) to exactly the recorded equation;
2. its premises are satisfiable in the standard model on small numerals (else the theorem is
   *vacuous*: premises contradicting the axioms would make anything "provable"), and it has
   no premise other than definitions of fresh variables (this kernel justifies equations
   only);
3. its proof replays: a ``rewrite`` proof is two chains of steps meeting in one term; each
   step names an axiom, an already accepted theorem or the induction hypothesis ``IH``, a
   direction, a position and a substitution, and the kernel recomputes the term after the
   step; an ``induction`` proof must induct on a variable whose sort the theory declares
   inductive, and its base case, step case and hypothesis must be exactly the instances the
   ``(induction S (base c) (step f))`` declaration gives, with a fresh variable; with
   ``"generalize": true`` the hypothesis keeps the statement's other variables universally
   quantified (a step then binds them in its substitution); wherever a rewrite proof may
   stand, a ``split`` may stand instead: a case analysis on a ground, well-sorted term
   ``t`` whose cases are exactly the constructors the theory declares for its sort, each
   with fresh constants and the hypothesis ``t = c(fresh...)`` (see ``_check_node``); a
   ``recursion`` proof (well-founded induction along a function's recursion) has cases
   whose constructor patterns cover every value of its variables, and hypotheses only at
   arguments a size measure shows smaller than the case's patterns (``_check_recursion``);
4. every rule its proof uses is listed in its ``deps`` and was accepted before it.

Anything else (an unknown rule, a step that does not apply, a malformed entry) rejects the
theorem with the reason; theorems resting on a rejected one are rejected too.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from dataclasses import dataclass, field
from pathlib import Path

from neuralbrain.errors import DataError

# files from outside are refused above these sizes before they are read (a theory the prover
# accepts is at most 10^6 characters; the proof documents of our theories are < 1 MB)
MAX_PROOF_BYTES = 64 * 2**20
MAX_THEORY_BYTES = 4 * 2**20

# -- a minimal reader, independent of mpl.py ------------------------------------------------


def _read(text: str) -> list:
    tokens: list[str] = []
    for line in text.splitlines():
        line = line.split(";", 1)[0]
        tokens.extend(line.replace("(", " ( ").replace(")", " ) ").split())
    out: list = []
    stack: list[list] = [out]
    for tok in tokens:
        if tok == "(":
            stack.append([])
        elif tok == ")":
            if len(stack) == 1:
                raise DataError("checker: unbalanced ')' in theory")
            done = stack.pop()
            stack[-1].append(done)
        else:
            stack[-1].append(tok)
    if len(stack) != 1:
        raise DataError("checker: unbalanced '(' in theory")
    return out


@dataclass
class KernelTheory:
    constants: dict[str, str] = field(default_factory=dict)
    functional: dict[str, int] = field(default_factory=dict)  # name -> number of inputs
    relations: set[str] = field(default_factory=set)
    signatures: dict[str, tuple[str, ...]] = field(default_factory=dict)  # relation -> sorts
    axioms: dict[str, tuple] = field(default_factory=dict)  # name -> (lhs, rhs)
    induction: dict[str, tuple[str, str]] = field(default_factory=dict)  # sort -> (base, step)
    structural: dict[str, tuple[str, ...]] = field(default_factory=dict)  # sort -> constructors


class _Reject(Exception):
    pass


def _statement(th: KernelTheory, form: list) -> tuple[dict, list, list]:
    """(bound variables with sorts, premise atoms, conclusion atom)."""
    bound: dict[str, str] = {}
    while isinstance(form, list) and form and form[0] == "forall":
        if len(form) != 3:
            raise _Reject("malformed forall")
        for b in form[1]:
            if not (isinstance(b, list) and len(b) == 2):
                raise _Reject("malformed binder")
            if b[0] in th.constants or b[0] in th.relations:
                raise _Reject(f"variable {b[0]!r} clashes with a symbol")
            bound[b[0]] = b[1]
        form = form[2]
    prem: list = []
    if isinstance(form, list) and form and form[0] == "implies":
        p = form[1]
        prem = p[1:] if isinstance(p, list) and p and p[0] == "and" else [p]
        form = form[2]
    return bound, prem, form


def _typecheck(th: KernelTheory, bound: dict, atoms: list) -> None:
    """Every argument has the sort its relation declares (``=`` needs equal sorts)."""
    def sort_of(x):
        if x in bound:
            return bound[x]
        if x in th.constants:
            return th.constants[x]
        raise _Reject(f"undefined symbol {x!r}")

    for a in atoms:
        if isinstance(a, list) and a and a[0] == "not":
            _typecheck(th, bound, a[1:])
            continue
        if not (isinstance(a, list) and a and all(isinstance(x, str) for x in a)):
            raise _Reject(f"malformed atom {a!r}")
        got = tuple(sort_of(x) for x in a[1:])
        if a[0] == "=":
            if len(got) != 2 or got[0] != got[1]:
                raise _Reject(f"ill-typed atom {a!r}")
        elif th.signatures.get(a[0]) != got:
            raise _Reject(f"ill-typed atom {a!r}: {a[0]} takes {th.signatures.get(a[0])}")


def _equation(th: KernelTheory, bound: dict, prem: list, concl: list):
    """Equation of a statement whose premises all define fresh variables, else None."""
    defs: dict[str, tuple] = {}
    for p in prem:
        if not (isinstance(p, list) and p and p[0] in th.functional):
            return None
        *ins, out = p[1:]
        if out not in bound or out in defs or out in ins:
            return None
        defs[out] = (p[0], ins)

    def term(x, depth=0):
        if depth > 64:
            raise _Reject("cyclic definitions")
        if x in defs:
            f, ins = defs[x]
            return (f, *(term(a, depth + 1) for a in ins))
        if x in bound:
            return x
        if x in th.constants:
            return (x,)
        raise _Reject(f"undefined symbol {x!r}")

    if not isinstance(concl, list) or not concl:
        raise _Reject("conclusion is not an atom")
    if concl[0] == "=":
        return term(concl[1]), term(concl[2])
    if concl[0] in th.functional and len(concl) == th.functional[concl[0]] + 2:
        return (concl[0], *(term(a) for a in concl[1:-1])), term(concl[-1])
    raise _Reject(f"conclusion ({concl[0]} ...) is not an equation")


def read_theory(text: str) -> KernelTheory:
    th = KernelTheory()
    for form in _read(text):
        if not (isinstance(form, list) and form):
            continue
        head = form[0]
        if head == "constant":
            th.constants[form[1]] = form[2]
        elif head == "relation":
            th.relations.add(form[1])
            th.signatures[form[1]] = tuple(form[2]) if isinstance(form[2], list) else ()
            if len(form) > 3 and form[3] == "functional":
                th.functional[form[1]] = len(form[2]) - 1
        elif head == "induction" and len(form) == 3 and isinstance(form[2], list) and \
                form[2] and form[2][0] == "cases":
            cases = tuple(form[2][1:])
            ok = all(isinstance(c, str) and (th.constants.get(c) == form[1] or (
                c in th.functional and th.signatures.get(c, ())[-1:] == (form[1],)))
                for c in cases)
            if ok and cases and len(set(cases)) == len(cases):
                th.structural[form[1]] = cases
        elif head == "induction":
            parts = {p[0]: p[1] for p in form[2:] if isinstance(p, list) and len(p) == 2}
            if "base" in parts and "step" in parts:
                th.induction[form[1]] = (parts["base"], parts["step"])
        elif head == "axiom":
            try:
                bound, prem, concl = _statement(th, form[2])
                eq = _equation(th, bound, prem, concl)
            except _Reject:
                eq = None
            if eq is not None:
                th.axioms[form[1]] = eq
    return th


# -- terms ----------------------------------------------------------------------------------


def _term(j):
    if isinstance(j, str):
        return j
    if isinstance(j, list) and j and isinstance(j[0], str):
        return (j[0], *(_term(a) for a in j[1:]))
    raise _Reject(f"malformed term {j!r}")


def _subst(t, s: dict):
    if isinstance(t, str):
        if t not in s:
            raise _Reject(f"substitution leaves variable {t!r} unbound")
        return s[t]
    return (t[0], *(_subst(a, s) for a in t[1:]))


def _fix(t, names: set[str]):
    """Statement variables as rigid constants (the proof's Skolem constants)."""
    if isinstance(t, str):
        return (t,) if t in names else t
    return (t[0], *(_fix(a, names) for a in t[1:]))


def _at(t, pos):
    for i in pos:
        if not isinstance(i, int) or isinstance(t, str) or not 0 <= i < len(t) - 1:
            raise _Reject(f"position {pos} is not in the term")
        t = t[i + 1]
    return t


def _put(t, pos, new):
    if not pos:
        return new
    i = pos[0]
    if isinstance(t, str) or not 0 <= i < len(t) - 1:
        raise _Reject(f"position {pos} is not in the term")
    return (*t[: i + 1], _put(t[i + 1], pos[1:], new), *t[i + 2 :])


def _vars(t, out: set):
    if isinstance(t, str):
        out.add(t)
    else:
        for a in t[1:]:
            _vars(a, out)
    return out


# -- proof replay ---------------------------------------------------------------------------


def _replay_chain(chain: dict, rules: dict, used: set) -> tuple:
    cur = _term(chain["start"])
    for st in chain["steps"]:
        name = st["rule"]
        if name not in rules:
            raise _Reject(f"step uses {name!r}, which is neither an axiom, an accepted theorem "
                          f"nor the induction hypothesis here")
        used.add(name)
        lhs, rhs = rules[name]
        if st["dir"] == "lr":
            frm, to = lhs, rhs
        elif st["dir"] == "rl":
            frm, to = rhs, lhs
        else:
            raise _Reject(f"unknown direction {st['dir']!r}")
        sigma = {k: _term(v) for k, v in st["subst"].items()}
        need = _vars(frm, set()) | _vars(to, set())
        if set(sigma) != need:
            raise _Reject(f"rule {name}: substitution {sorted(sigma)} does not bind exactly "
                          f"{sorted(need)}")
        pos = list(st["pos"])
        if _at(cur, pos) != _subst(frm, sigma):
            raise _Reject(f"rule {name} ({st['dir']}) does not match at position {pos}")
        cur = _put(cur, pos, _subst(to, sigma))
        if cur != _term(st["term"]):
            raise _Reject(f"after rule {name} the term is not the recorded one")
    if cur != _term(chain["end"]):
        raise _Reject("chain does not end in its recorded end term")
    return _term(chain["start"]), cur


def _check_rewrite(proof: dict, goal: tuple, rules: dict, used: set) -> None:
    if proof.get("method") != "rewrite":
        raise _Reject(f"expected a rewrite proof, got {proof.get('method')!r}")
    l0, lend = _replay_chain(proof["lhs"], rules, used)
    r0, rend = _replay_chain(proof["rhs"], rules, used)
    if (l0, r0) != goal:
        raise _Reject("the chains do not start from the two sides of the goal")
    if lend != rend:
        raise _Reject("the two chains do not meet")


# how deep case splits may nest (a proof document from outside cannot exhaust the stack)
MAX_SPLIT_DEPTH = 16


def _sort_of(th: KernelTheory, t, scope: dict) -> str:
    """The sort of the ground term ``t`` (Skolem constants sorted by ``scope``), type-checked."""
    if isinstance(t, str):
        raise _Reject(f"split term contains the variable {t!r}: expected a ground term")
    if len(t) == 1:
        if t[0] in scope:
            return scope[t[0]]
        if t[0] in th.constants:
            return th.constants[t[0]]
        raise _Reject(f"split term: undefined symbol {t[0]!r}")
    f = t[0]
    if th.functional.get(f) != len(t) - 1:
        raise _Reject(f"split term: {f!r} is not a function of {len(t) - 1} arguments")
    want = th.signatures[f]
    for a, s in zip(t[1:], want[:-1], strict=True):
        if _sort_of(th, a, scope) != s:
            raise _Reject(f"split term: an argument of {f} is not of sort {s}")
    return want[-1]


def _constructors(th: KernelTheory, sort: str) -> tuple[str, ...]:
    """Every value of ``sort`` is built by one of these (the theory's induction declaration)."""
    if sort in th.structural:
        return th.structural[sort]
    if sort in th.induction:
        return th.induction[sort]
    raise _Reject(f"the theory declares no constructors (induction) for sort {sort!r}")


def _ctor_args(th: KernelTheory, c: str, sort: str) -> tuple[str, ...]:
    if c in th.functional:
        sig = th.signatures.get(c, ())
        if sig[-1:] != (sort,):
            raise _Reject(f"constructor {c!r} does not build sort {sort!r}")
        return sig[:-1]
    if th.constants.get(c) != sort:
        raise _Reject(f"constructor {c!r} is not a constant of sort {sort!r}")
    return ()


def _fresh_ok(th: KernelTheory, names: list, scope: dict, rules: dict) -> bool:
    return isinstance(names, list) and len(set(names)) == len(names) and all(
        isinstance(n, str) and n not in scope and n not in th.constants and
        n not in th.relations and n not in rules for n in names)


def _check_node(th: KernelTheory, proof: dict, goal: tuple, rules: dict, used: set,
                scope: dict, depth: int = 0) -> None:
    """A ``rewrite`` proof of ``goal``, or a ``split``: a case analysis on a ground term.

    ``split`` names a ground term ``t`` of a sort S the theory declares constructors for;
    its cases are exactly S's constructors in declaration order, each with fresh Skolem
    constants (``fresh``) and a hypothesis ``hyp``: ``t = c(fresh...)``, and each case proves
    the same goal (recursively) with that hypothesis as an extra rule. Every value of S is
    one constructor applied to values, so the cases cover every model of the goal.
    """
    method = proof.get("method")
    if method == "rewrite":
        _check_rewrite(proof, goal, rules, used)
        return
    if method != "split":
        raise _Reject(f"unknown proof method {method!r} for a case")
    if depth >= MAX_SPLIT_DEPTH:
        raise _Reject(f"case splits nested deeper than {MAX_SPLIT_DEPTH}")
    t = _term(proof["term"])
    sort = _sort_of(th, t, scope)
    ctors = _constructors(th, sort)
    cases = proof["cases"]
    if not isinstance(cases, list) or [c.get("constructor") for c in cases] != list(ctors):
        raise _Reject(f"the split cases are not exactly the constructors {list(ctors)} of "
                      f"{sort}")
    for case in cases:
        c = case["constructor"]
        arg_sorts = _ctor_args(th, c, sort)
        fresh = case["fresh"]
        if not isinstance(fresh, list) or len(fresh) != len(arg_sorts):
            raise _Reject(f"split case {c}: expected {len(arg_sorts)} fresh constants")
        if not _fresh_ok(th, fresh, scope, rules):
            raise _Reject(f"split case {c}: names {fresh} are not fresh")
        hyp = case["hyp"]
        if not isinstance(hyp, str) or hyp in rules or hyp in fresh:
            raise _Reject(f"split case {c}: hypothesis name {hyp!r} is already taken")
        value = (c, *((n,) for n in fresh))
        case_used: set[str] = set()
        _check_node(th, case["proof"], goal, {**rules, hyp: (t, value)}, case_used,
                    {**scope, **dict(zip(fresh, arg_sorts, strict=True))}, depth + 1)
        used |= case_used - {hyp}


def _check_proof(th: KernelTheory, eq: tuple, sorts: dict, proof: dict, rules: dict,
                 used: set) -> None:
    names = set(sorts)
    lhs, rhs = eq
    method = proof.get("method")
    if method in ("rewrite", "split"):
        _check_node(th, proof, (_fix(lhs, names), _fix(rhs, names)), rules, used, dict(sorts))
        return
    if method == "structural":
        _check_structural(th, eq, sorts, proof, rules, used)
        return
    if method == "recursion":
        _check_recursion(th, eq, sorts, proof, rules, used)
        return
    if method != "induction":
        raise _Reject(f"unknown proof method {method!r}")
    v, n = proof["var"], proof["fresh"]
    if v not in sorts:
        raise _Reject(f"induction variable {v!r} is not a variable of the statement")
    if sorts[v] not in th.induction:
        raise _Reject(f"the theory declares no induction for sort {sorts[v]!r}")
    if not isinstance(n, str) or n in names or n in th.constants or n in th.relations:
        raise _Reject(f"induction variable name {n!r} is not fresh")
    base, step = th.induction[sorts[v]]
    scope = {**sorts, n: sorts[v]}

    def inst(t, value, fixed=names | {n}):
        return _fix(_subst(t, {**{x: x for x in names}, v: value}), fixed)

    _check_node(th, proof["base"], (inst(lhs, (base,)), inst(rhs, (base,))), rules, used,
                dict(sorts))
    # generalised: the hypothesis holds for every value of the other variables
    fixed = {n} if proof.get("generalize") is True else names | {n}
    hyp = (inst(lhs, n, fixed), inst(rhs, n, fixed))
    step_rules = {**rules, "IH": hyp}
    _check_node(th, proof["step"], (inst(lhs, (step, n)), inst(rhs, (step, n))), step_rules,
                used, scope)


def _check_structural(th: KernelTheory, eq: tuple, sorts: dict, proof: dict, rules: dict,
                      used: set) -> None:
    """One case per declared constructor, in declaration order; hypotheses built here.

    A case with ``"generalize": true`` gets hypotheses quantified over the statement's other
    variables (to prove E for all of them, E[v:=n] may be assumed for all of them).
    """
    names = set(sorts)
    lhs, rhs = eq
    v = proof["var"]
    if v not in sorts:
        raise _Reject(f"induction variable {v!r} is not a variable of the statement")
    sort = sorts[v]
    if sort not in th.structural:
        raise _Reject(f"the theory declares no structural induction for sort {sort!r}")
    ctors = th.structural[sort]
    cases = proof["cases"]
    if [c.get("constructor") for c in cases] != list(ctors):
        raise _Reject(f"the cases are not exactly the constructors {list(ctors)} of {sort}")
    for case in cases:
        c = case["constructor"]
        fresh = case["fresh"]
        arg_sorts = th.signatures[c][:-1] if c in th.functional else ()
        if not isinstance(fresh, list) or len(fresh) != len(arg_sorts):
            raise _Reject(f"case {c}: expected {len(arg_sorts)} fresh variables")
        if len(set(fresh)) != len(fresh) or any(
                not isinstance(n, str) or n in names or n in th.constants or n in th.relations
                or n in rules for n in fresh):
            raise _Reject(f"case {c}: variable names {fresh} are not fresh")
        fixed = names | set(fresh)
        hyp_fixed = set(fresh) if case.get("generalize") is True else fixed

        def inst(t, value, fixed=fixed):
            return _fix(_subst(t, {**{x: x for x in names}, v: value}), fixed)

        value = (c, *fresh)
        hyps = {f"IH{i}": (inst(lhs, n, hyp_fixed), inst(rhs, n, hyp_fixed))
                for i, (n, s) in enumerate(zip(fresh, arg_sorts, strict=True)) if s == sort}
        case_used: set[str] = set()
        _check_node(th, case["proof"], (inst(lhs, value), inst(rhs, value)),
                    {**rules, **hyps}, case_used,
                    {**sorts, **dict(zip(fresh, arg_sorts, strict=True))})
        used |= case_used - set(hyps)


def _pattern_sorts(th: KernelTheory, p, sort: str, out: dict) -> None:
    """Sorts of the variables of the constructor pattern ``p`` of ``sort``; each occurs once."""
    if isinstance(p, str):
        if p in out:
            raise _Reject(f"pattern variable {p!r} occurs twice")
        out[p] = sort
        return
    if p[0] not in _constructors(th, sort):
        raise _Reject(f"pattern {p[0]!r} is not a constructor of {sort}")
    for a, s in zip(p[1:], _ctor_args(th, p[0], sort), strict=True):
        _pattern_sorts(th, a, s, out)


def _covers(th: KernelTheory, rows: list[tuple], sorts: list[str]) -> bool:
    """Every tuple of values of ``sorts`` matches one of the pattern ``rows``."""
    if not rows:
        return False
    col = next((i for i in range(len(sorts)) for r in rows if not isinstance(r[i], str)),
               None)
    if col is None:
        return True
    for c in _constructors(th, sorts[col]):
        fields = list(_ctor_args(th, c, sorts[col]))
        sub = [r[:col] + (tuple("_" for _ in fields) if isinstance(r[col], str)
                          else r[col][1:]) + r[col + 1:]
               for r in rows if isinstance(r[col], str) or r[col][0] == c]
        if not _covers(th, sub, sorts[:col] + fields + sorts[col + 1:]):
            return False
    return True


def _size(th: KernelTheory, t, sort: str, values: dict) -> tuple[int, dict]:
    """``|t|`` (constructor count) as ``const + sum(n_v |v|)``; ``t`` is built from the
    sort's constructors and the variables in ``values`` (name -> sort)."""
    if isinstance(t, str) or (len(t) == 1 and t[0] in values):
        v = t if isinstance(t, str) else t[0]
        if values.get(v) != sort:
            raise _Reject(f"{v!r} is not a variable of sort {sort}")
        return 0, {v: 1}
    if t[0] not in _constructors(th, sort):
        raise _Reject(f"hypothesis argument: {t[0]!r} is not a constructor of {sort}")
    const, coef = 1, {}
    for a, s in zip(t[1:], _ctor_args(th, t[0], sort), strict=True):
        k, vs = _size(th, a, s, values)
        const += k
        for v, n in vs.items():
            coef[v] = coef.get(v, 0) + n
    return const, coef


def _at_most(f: tuple[int, dict], g: tuple[int, dict], strict: bool) -> bool:
    """``f <= g`` (``<``) for every value of the variables (each of size at least 1).

    The prover has the same comparison (``termination.at_most``); the kernel keeps its own,
    as it keeps its own reader and matcher, so that a fault there cannot pass a proof here.
    """
    diff = dict(g[1])
    for v, n in f[1].items():
        diff[v] = diff.get(v, 0) - n
    if any(n < 0 for n in diff.values()):
        return False
    least = g[0] - f[0] + sum(diff.values())
    return least > 0 if strict else least >= 0


def _smaller(kind: str, small: list, big: list) -> bool:
    """The measure ``kind`` of the size forms ``small`` is below that of ``big``, always."""
    if kind == "sum":
        def total(forms):
            c, coef = 0, {}
            for k, vs in forms:
                c += k
                for v, n in vs.items():
                    coef[v] = coef.get(v, 0) + n
            return c, coef
        return _at_most(total(small), total(big), strict=True)
    if kind != "lex":
        raise _Reject(f"unknown measure {kind!r}: expected 'lex' or 'sum'")
    for f, g in zip(small, big, strict=True):
        if _at_most(f, g, strict=True):
            return True
        if not _at_most(f, g, strict=False):
            return False
    return False


def _check_recursion(th: KernelTheory, eq: tuple, sorts: dict, proof: dict, rules: dict,
                     used: set) -> None:
    """Well-founded induction over the values of some variables (a function's recursion).

    ``vars`` are distinct variables of the statement; each case gives one constructor
    ``pattern`` per variable, the patterns of all cases must cover every value tuple, and
    the case proves the statement at its patterns (their variables fresh Skolem constants)
    with a hypothesis ``IHj`` per entry of ``hypotheses``: the statement at argument terms
    built from constructors, the case's pattern variables and the statement's other
    variables, which ``measure`` shows smaller than the case's patterns for every value of
    those variables: ``lex`` (the sizes, in constructor count, compared in the order of
    ``positions``: some one strictly smaller, every earlier one at most equal) or ``sum``
    (their sum strictly smaller). Both measures are natural numbers or tuples of them, so
    no infinite descent exists and the hypotheses hold by induction on the measure. With
    ``"generalize": true`` a hypothesis keeps the statement's other variables universally
    quantified.
    """
    names = set(sorts)
    lhs, rhs = eq
    vs = proof["vars"]
    if not (isinstance(vs, list) and vs and len(set(vs)) == len(vs) and
            all(v in sorts for v in vs)):
        raise _Reject(f"recursion induction variables {vs!r} are not distinct variables "
                      "of the statement")
    measure = proof["measure"]
    kind, order = measure["kind"], measure["positions"]
    if not (isinstance(order, list) and order and len(set(order)) == len(order) and
            all(isinstance(i, int) and 0 <= i < len(vs) for i in order)):
        raise _Reject(f"measure positions {order!r} are not positions of {vs!r}")
    others = names - set(vs)
    rows = []
    for case in proof["cases"]:
        pattern = [_term(p) for p in case["pattern"]]
        if len(pattern) != len(vs):
            raise _Reject(f"a case pattern has {len(pattern)} terms for {len(vs)} variables")
        psorts: dict[str, str] = {}
        for p, v in zip(pattern, vs, strict=True):
            _pattern_sorts(th, p, sorts[v], psorts)
        if not _fresh_ok(th, list(psorts), sorts, rules):
            raise _Reject(f"pattern variables {sorted(psorts)} are not fresh")
        rows.append(tuple(pattern))
        fixed = names | set(psorts)
        hyp_fixed = set(psorts) | (set() if case.get("generalize") is True else others)
        scope = {**sorts, **psorts}
        values = {**psorts, **{o: sorts[o] for o in others}}
        big = [_size(th, pattern[i], sorts[vs[i]], values) for i in order]

        def at(t, terms, fix, fixed=fixed):
            """``t`` with ``vs`` at ``terms`` (their variables rigid), ``fix`` rigid."""
            at_terms = {v: _fix(a, fixed) for v, a in zip(vs, terms, strict=True)}
            return _fix(_subst(t, {**{x: x for x in names}, **at_terms}), fix)

        hyps = {}
        for j, args in enumerate(case["hypotheses"]):
            args = [_term(a) for a in args]
            if len(args) != len(vs):
                raise _Reject(f"hypothesis {j} has {len(args)} arguments for {len(vs)}")
            small = [_size(th, args[i], sorts[vs[i]], values) for i in order]
            if not _smaller(kind, small, big):
                raise _Reject(f"hypothesis {j} at {args!r} is not below the case's "
                              f"patterns in the {kind} measure")
            hyps[f"IH{j}"] = (at(lhs, args, hyp_fixed), at(rhs, args, hyp_fixed))
        case_used: set[str] = set()
        _check_node(th, case["proof"], (at(lhs, pattern, fixed), at(rhs, pattern, fixed)),
                    {**rules, **hyps}, case_used, scope)
        used |= case_used - set(hyps)
    if not _covers(th, rows, [sorts[v] for v in vs]):
        raise _Reject(f"the case patterns do not cover every value of {vs!r}")


def _satisfiable(th: KernelTheory, bound: dict, prem: list, max_value: int = 6) -> bool:
    """Is there an assignment of small numerals making all premises true?"""
    inductive = {s: bi for s, bi in th.induction.items()}
    if not prem or any(s not in inductive for s in bound.values()):
        return True  # nothing to test, or no numerals to test with: not shown vacuous
    base, step = next(iter(inductive.values()))
    memo: dict = {}

    def num_match(p, k, env):
        if isinstance(p, str):
            if p in env:
                return env[p] == k
            env[p] = k
            return True
        if p == (base,):
            return k == 0
        if p[0] == step and len(p) == 2:
            return k > 0 and num_match(p[1], k - 1, env)
        return False

    def val(t, env, depth=0):
        if depth > 400:
            raise _Reject("evaluation too deep")
        if isinstance(t, str):
            return env[t]
        if t == (base,):
            return 0
        args = tuple(val(a, env, depth + 1) for a in t[1:])
        if t[0] == step:
            return args[0] + 1
        key = (t[0], args)
        if key in memo:
            return memo[key]
        for lhs, rhs in th.axioms.values():
            if isinstance(lhs, tuple) and lhs[0] == t[0] and len(lhs) == len(t):
                e: dict = {}
                if all(num_match(p, a, e) for p, a in zip(lhs[1:], args, strict=True)):
                    memo[key] = val(rhs, e, depth + 1)
                    return memo[key]
        raise _Reject(f"cannot evaluate {t[0]}")

    def truth(f, env) -> bool | None:
        if isinstance(f, list) and f and f[0] == "not":
            r = truth(f[1], env)
            return None if r is None else not r
        if isinstance(f, list) and f and f[0] == "and":
            rs = [truth(x, env) for x in f[1:]]
            return False if False in rs else (None if None in rs else True)
        args = [env[a] if a in env else val((a,), env) for a in f[1:]]
        if f[0] == "=":
            return args[0] == args[1]
        if f[0] in th.functional:
            return val((f[0], *[_num(a, base, step) for a in args[:-1]]), {}) == args[-1]
        return None  # a relation the kernel cannot evaluate: not evidence of vacuity

    names = list(bound)
    for point in itertools.product(range(max_value + 1), repeat=len(names)):
        env = dict(zip(names, point, strict=True))
        try:
            rs = [truth(p, env) for p in prem]
        except _Reject:
            return True
        if False not in rs:
            return True
    return False


def _num(k: int, base: str, step: str):
    t: tuple = (base,)
    for _ in range(k):
        t = (step, t)
    return t


@dataclass
class CheckReport:
    """The verdict: which theorems were accepted and why the others were rejected."""

    accepted: list[str] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)
    theory_sha256: str = ""

    @property
    def ok(self) -> bool:
        return not self.rejected and bool(self.accepted)

    def as_json(self) -> dict:
        return {"ok": self.ok, "accepted": self.accepted, "rejected": self.rejected,
                "theory_sha256": self.theory_sha256}


def check_document(doc: dict, theory_text: str) -> CheckReport:
    """Check every theorem of a proof document against the theory text (see module doc)."""
    th = read_theory(theory_text)
    report = CheckReport(theory_sha256=hashlib.sha256(theory_text.encode()).hexdigest())
    if not isinstance(doc, dict):
        report.rejected.append({"id": "<document>", "reason": f"a JSON {type(doc).__name__}, "
                                "expected an object with a 'theorems' list"})
        return report
    theory = doc.get("theory")
    declared = theory.get("sha256") if isinstance(theory, dict) else None
    rules: dict[str, tuple] = dict(th.axioms)
    theorems = doc.get("theorems")
    if not isinstance(theorems, list):
        report.rejected.append({"id": "<document>", "reason": "no 'theorems' list"})
        return report
    if declared and declared != report.theory_sha256:
        for t in theorems:
            tid = str(t.get("id")) if isinstance(t, dict) else "<malformed>"
            report.rejected.append({"id": tid, "reason":
                                    "the proofs were made for another version of the theory"})
        return report
    for t in theorems:
        tid = str(t.get("id")) if isinstance(t, dict) else "<malformed>"
        try:
            if tid in rules:
                raise _Reject(f"id {tid!r} is used twice")
            forms = _read(t["statement"])
            if len(forms) != 1 or not isinstance(forms[0], list) or len(forms[0]) != 3:
                raise _Reject("statement is not one (theorem NAME FORMULA) form")
            bound, prem, concl = _statement(th, forms[0][2])
            _typecheck(th, bound, [*prem, concl])
            if not _satisfiable(th, bound, prem):
                raise _Reject("vacuous: its premises are unsatisfiable in the standard model")
            eq = _equation(th, bound, prem, concl)
            if eq is None:
                raise _Reject("conditional statement: this kernel justifies equations only")
            recorded = (_term(t["equation"]["lhs"]), _term(t["equation"]["rhs"]))
            if recorded != eq:
                raise _Reject("the statement does not denote the recorded equation")
            sorts = {v: bound[v] for v in _vars(eq[0], set()) | _vars(eq[1], set())}
            used: set[str] = set()
            _check_proof(th, eq, sorts, t["proof"], rules, used)
            undeclared = used - set(t.get("deps", [])) - {"IH"}
            if undeclared:
                raise _Reject(f"proof uses {sorted(undeclared)} not listed in deps")
        except _Reject as e:
            report.rejected.append({"id": tid, "reason": str(e)})
            continue
        except (KeyError, TypeError, ValueError, IndexError, AttributeError, RecursionError) as e:
            report.rejected.append({"id": tid, "reason": f"malformed entry: {e!r}"})
            continue
        rules[tid] = eq
        report.accepted.append(tid)
    return report


def check_files(proof_json: str | Path, theory_path: str | Path) -> CheckReport:
    """Read a proof document and a theory file from disk and check them."""
    for path, limit in ((proof_json, MAX_PROOF_BYTES), (theory_path, MAX_THEORY_BYTES)):
        try:
            size = Path(path).stat().st_size
        except OSError as e:
            raise DataError(f"cannot read {str(path)!r}: {e.strerror or e}") from None
        if size > limit:
            raise DataError(f"{str(path)!r} is {size} bytes: expected at most {limit}")
    try:
        doc = json.loads(Path(proof_json).read_text(encoding="utf-8"))
        text = Path(theory_path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataError(f"cannot read proof {str(proof_json)!r} / theory "
                        f"{str(theory_path)!r}: {e}") from None
    except RecursionError:
        raise DataError(f"proof document {str(proof_json)!r} nests JSON too deeply: expected "
                        "the document 'prove --proofs' writes") from None
    return check_document(doc, text)
