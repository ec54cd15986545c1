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
   ``(induction S (base c) (step f))`` declaration gives, with a fresh variable;
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


def _check_proof(th: KernelTheory, eq: tuple, sorts: dict, proof: dict, rules: dict,
                 used: set) -> None:
    names = set(sorts)
    lhs, rhs = eq
    method = proof.get("method")
    if method == "rewrite":
        _check_rewrite(proof, (_fix(lhs, names), _fix(rhs, names)), rules, used)
        return
    if method == "structural":
        _check_structural(th, eq, sorts, proof, rules, used)
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

    def inst(t, value):
        return _fix(_subst(t, {**{x: x for x in names}, v: value}), names | {n})

    _check_rewrite(proof["base"], (inst(lhs, (base,)), inst(rhs, (base,))), rules, used)
    hyp = (inst(lhs, n), inst(rhs, n))
    step_rules = {**rules, "IH": hyp}
    _check_rewrite(proof["step"], (inst(lhs, (step, n)), inst(rhs, (step, n))), step_rules, used)


def _check_structural(th: KernelTheory, eq: tuple, sorts: dict, proof: dict, rules: dict,
                      used: set) -> None:
    """One case per declared constructor, in declaration order; hypotheses built here."""
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

        def inst(t, value, fixed=fixed):
            return _fix(_subst(t, {**{x: x for x in names}, v: value}), fixed)

        value = (c, *fresh)
        hyps = {f"IH{i}": (inst(lhs, n), inst(rhs, n))
                for i, (n, s) in enumerate(zip(fresh, arg_sorts, strict=True)) if s == sort}
        case_used: set[str] = set()
        _check_rewrite(case["proof"], (inst(lhs, value), inst(rhs, value)),
                       {**rules, **hyps}, case_used)
        used |= case_used - set(hyps)


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
