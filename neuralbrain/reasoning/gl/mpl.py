"""MPL, the Mathematical Programming Language: typed first-order definitions as S-expressions.

A theory file is a sequence of prefix forms (``;`` starts a comment to the end of the line)::

    (sort N)                                  ; a sort (type) of individuals
    (sort Digit (integers 0 9))               ; a sort whose constants are integer literals
    (constant 0 N)                            ; a named constant of a sort
    (relation s (N N) functional)             ; (s a b): b is the successor of a
    (relation + (N N N) functional)           ; (+ a b c): a + b = c
    (relation on (Cube Cube))                 ; an ordinary relation
    (axiom add_zero (forall ((a N)) (+ a 0 a)))
    (rule covered (forall ((a Cube) (b Cube)) (implies (on a b) (covered b))))
    (fact (on cube_2 cube_1))
    (induction N (base 0) (step s))           ; every N is 0 or built from one by s
    (theorem add_comm (forall ((a N) (b N) (c N)) (implies (+ a b c) (+ b a c))))

Formulas: an atom ``(REL arg ...)`` or ``(= a b)`` whose arguments are variables, constants
or integer literals; ``(and F ...)``, ``(implies F G)``, ``(not F)``, ``(forall ((v SORT) ...)
F)``. ``functional`` declares that the last argument of the relation is a total function of
the others (an axiom scheme: existence and uniqueness); this is what lets the prover read
the relational axioms as equations between terms (see ``equations.py``).

Parsing checks everything a user can get wrong and raises ``MPLError`` (a
``neuralbrain.errors.DataError``) whose message starts with ``file:line:col``: unbalanced
parentheses, unknown forms, undefined symbols, wrong arity, ill-typed atoms, a variable used
at two sorts, an induction declaration whose step is not a functional relation ``(S S)``.

Limits, since a theory may come from outside: a text of at most ``MAX_MPL_CHARS`` characters
(a file is refused by its size before it is read), lists nested at most ``MAX_MPL_DEPTH``
deep (the reader of formulas recurses), and integer literals of at most
``MAX_MPL_INT_DIGITS`` ASCII digits (so every literal is an int64). Each is an ``MPLError``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from neuralbrain.errors import DataError

MAX_MPL_CHARS = 1_000_000
MAX_MPL_DEPTH = 64
MAX_MPL_INT_DIGITS = 18
_INT = re.compile(r"-?[0-9]{1," + str(MAX_MPL_INT_DIGITS) + "}")


class MPLError(DataError):
    """A syntax, name or type error in an MPL text, located by ``source:line:col``."""


# -- S-expressions --------------------------------------------------------------------------


@dataclass(frozen=True)
class Sym:
    name: str
    line: int
    col: int


@dataclass(frozen=True)
class SList:
    items: tuple
    line: int
    col: int


def _err(src: str, node: Sym | SList | tuple[int, int], msg: str) -> MPLError:
    line, col = (node.line, node.col) if not isinstance(node, tuple) else node
    return MPLError(f"{src}:{line}:{col}: {msg}")


def read_sexprs(text: str, src: str = "<mpl>") -> list[SList | Sym]:
    """Tokenize and read ``text`` into S-expressions with 1-based line/column positions.

    At most ``MAX_MPL_CHARS`` characters and ``MAX_MPL_DEPTH`` nested lists (``MPLError``).
    """
    if len(text) > MAX_MPL_CHARS:
        raise _err(src, (1, 1), f"{len(text)} characters, expected an MPL text of at most "
                   f"{MAX_MPL_CHARS}")
    stack: list[tuple[list, int, int]] = []
    top: list = []
    line, col, i, n = 1, 1, 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\n":
            line, col, i = line + 1, 1, i + 1
            continue
        if ch in " \t\r":
            i, col = i + 1, col + 1
            continue
        if ch == ";":
            while i < n and text[i] != "\n":
                i += 1
            continue
        if ch == "(":
            if len(stack) >= MAX_MPL_DEPTH:
                raise _err(src, (line, col), f"lists nested more than {MAX_MPL_DEPTH} deep; "
                           "expected formulas nested at most that deep")
            stack.append(([], line, col))
            i, col = i + 1, col + 1
            continue
        if ch == ")":
            if not stack:
                raise _err(src, (line, col), "unexpected ')': no list is open")
            items, l0, c0 = stack.pop()
            node = SList(tuple(items), l0, c0)
            (stack[-1][0] if stack else top).append(node)
            i, col = i + 1, col + 1
            continue
        j = i
        while j < n and text[j] not in " \t\r\n();":
            j += 1
        tok = Sym(text[i:j], line, col)
        (stack[-1][0] if stack else top).append(tok)
        col += j - i
        i = j
    if stack:
        _, l0, c0 = stack[-1]
        raise _err(src, (l0, c0), "'(' is never closed (end of input reached)")
    return top


# -- theory ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sort:
    name: str
    int_range: tuple[int, int] | None = None


@dataclass(frozen=True)
class Relation:
    name: str
    sorts: tuple[str, ...]
    functional: bool = False


@dataclass(frozen=True)
class Atom:
    rel: str  # a relation name or "="
    args: tuple[str, ...]
    line: int = 0
    col: int = 0


@dataclass(frozen=True)
class And:
    parts: tuple


@dataclass(frozen=True)
class Implies:
    premise: object
    conclusion: object


@dataclass(frozen=True)
class Not:
    body: object


@dataclass(frozen=True)
class Forall:
    variables: tuple[tuple[str, str], ...]  # (name, sort)
    body: object


@dataclass(frozen=True)
class Statement:
    """A named closed formula: an axiom, a rule (agent theories) or a theorem (targets)."""

    kind: str  # "axiom" | "rule" | "theorem"
    name: str
    formula: object
    text: str
    line: int


@dataclass(frozen=True)
class Induction:
    """``(induction S (base c) (step r))``: every element of S is c or r-successor of one."""

    sort: str
    base: str
    step: str


@dataclass
class Theory:
    """A parsed, type-checked MPL theory."""

    source: str = "<mpl>"
    sorts: dict[str, Sort] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)  # name -> sort
    relations: dict[str, Relation] = field(default_factory=dict)
    statements: list[Statement] = field(default_factory=list)
    facts: list[Atom] = field(default_factory=list)
    inductions: dict[str, Induction] = field(default_factory=dict)
    # (induction S (cases C1 ... Ck)): structural induction over a datatype whose elements
    # are exactly the values of its constructors (constants or functional relations into S)
    structural: dict[str, tuple[str, ...]] = field(default_factory=dict)

    def of_kind(self, kind: str) -> list[Statement]:
        return [s for s in self.statements if s.kind == kind]

    def functions(self) -> dict[str, tuple[tuple[str, ...], str]]:
        """Functional relations as functions: name -> (argument sorts, result sort)."""
        return {
            r.name: (r.sorts[:-1], r.sorts[-1]) for r in self.relations.values() if r.functional
        }

    def constant_sort(self, name: str) -> str | None:
        if name in self.constants:
            return self.constants[name]
        if _is_int(name):
            for s in self.sorts.values():
                if s.int_range and s.int_range[0] <= int(name) <= s.int_range[1]:
                    return s.name
        return None


def _is_int(name: str) -> bool:
    # ASCII digits only ("²".isdigit() is true, int("²") fails), at most 18 of them.
    return _INT.fullmatch(name) is not None


_KEYWORDS = {"sort", "constant", "relation", "axiom", "rule", "theorem", "fact", "induction"}
_CONNECTIVES = {"and", "implies", "not", "forall"}


class _Reader:
    def __init__(self, theory: Theory, text: str):
        self.t = theory
        self.src = theory.source
        self.lines = text.splitlines()

    def err(self, node, msg: str) -> MPLError:
        return _err(self.src, node, msg)

    def sym(self, node, what: str) -> str:
        if not isinstance(node, Sym):
            raise self.err(node, f"expected {what} (a symbol), got a list")
        return node.name

    def form(self, node) -> None:
        if not isinstance(node, SList) or not node.items:
            raise self.err(node, f"expected a form like (sort ...), (axiom ...); got {_show(node)}")
        head = node.items[0]
        kw = self.sym(head, "a keyword")
        args = node.items[1:]
        if kw not in _KEYWORDS:
            raise self.err(head, f"unknown form {kw!r}: expected one of {sorted(_KEYWORDS)}")
        getattr(self, "f_" + kw)(node, args)

    # declarations
    def f_sort(self, node, args) -> None:
        if not args or len(args) > 2:
            raise self.err(node, "expected (sort NAME) or (sort NAME (integers LO HI))")
        name = self.sym(args[0], "a sort name")
        self._fresh(args[0], name)
        rng = None
        if len(args) == 2:
            spec = args[1]
            ok = (
                isinstance(spec, SList)
                and len(spec.items) == 3
                and isinstance(spec.items[0], Sym)
                and spec.items[0].name == "integers"
                and all(isinstance(x, Sym) and _is_int(x.name) for x in spec.items[1:])
            )
            if not ok:
                raise self.err(spec, "expected (integers LO HI) with integer bounds")
            rng = (int(spec.items[1].name), int(spec.items[2].name))
        self.t.sorts[name] = Sort(name, rng)

    def f_constant(self, node, args) -> None:
        if len(args) != 2:
            raise self.err(node, "expected (constant NAME SORT)")
        name = self.sym(args[0], "a constant name")
        self._fresh(args[0], name)
        self.t.constants[name] = self._sort(args[1])

    def f_relation(self, node, args) -> None:
        if len(args) not in (2, 3) or not isinstance(args[1], SList):
            raise self.err(node, "expected (relation NAME (SORT ...) [functional])")
        name = self.sym(args[0], "a relation name")
        self._fresh(args[0], name)
        sorts = tuple(self._sort(s) for s in args[1].items)
        functional = False
        if len(args) == 3:
            if self.sym(args[2], "'functional'") != "functional":
                raise self.err(args[2], f"expected 'functional', got {args[2].name!r}")
            if not sorts:
                raise self.err(args[2], "a functional relation needs at least its result sort")
            functional = True
        self.t.relations[name] = Relation(name, sorts, functional)

    def f_induction(self, node, args) -> None:
        bad = ("expected (induction SORT (base CONSTANT) (step FUNCTIONAL-RELATION)) or "
               "(induction SORT (cases CONSTRUCTOR ...))")
        if len(args) == 2 and isinstance(args[1], SList) and args[1].items and \
                isinstance(args[1].items[0], Sym) and args[1].items[0].name == "cases":
            sort = self._sort(args[0])
            if sort in self.t.inductions or sort in self.t.structural:
                raise self.err(node, f"induction for sort {sort} is already declared")
            cases = []
            for c in args[1].items[1:]:
                name = self.sym(c, "a constructor")
                rel = self.t.relations.get(name)
                if self.t.constants.get(name) != sort and not (
                        rel is not None and rel.functional and rel.sorts[-1] == sort):
                    raise self.err(c, f"case {name!r} is neither a constant of sort {sort} nor "
                                   f"a functional relation into {sort}")
                if name in cases:
                    raise self.err(c, f"case {name!r} is listed twice")
                cases.append(name)
            if not cases:
                raise self.err(node, bad)
            self.t.structural[sort] = tuple(cases)
            return
        if len(args) != 3:
            raise self.err(node, bad)
        sort = self._sort(args[0])
        parts = {}
        for a in args[1:]:
            if not (isinstance(a, SList) and len(a.items) == 2 and isinstance(a.items[0], Sym)):
                raise self.err(a, bad)
            parts[a.items[0].name] = a.items[1]
        if set(parts) != {"base", "step"}:
            raise self.err(node, bad)
        base = self.sym(parts["base"], "a constant")
        if self.t.constants.get(base) != sort:
            raise self.err(parts["base"], f"base {base!r} is not a declared constant of sort {sort}")
        step = self.sym(parts["step"], "a relation")
        rel = self.t.relations.get(step)
        if rel is None or not rel.functional or rel.sorts != (sort, sort):
            raise self.err(
                parts["step"], f"step {step!r} must be a functional relation ({sort} {sort})"
            )
        self.t.inductions[sort] = Induction(sort, base, step)

    def f_fact(self, node, args) -> None:
        if len(args) != 1:
            raise self.err(node, "expected (fact (REL CONSTANT ...))")
        f = self.formula(args[0], {})
        if not isinstance(f, Atom):
            raise self.err(args[0], "a fact must be a single atom")
        self.t.facts.append(f)

    def f_axiom(self, node, args) -> None:
        self._statement("axiom", node, args)

    def f_rule(self, node, args) -> None:
        self._statement("rule", node, args)

    def f_theorem(self, node, args) -> None:
        self._statement("theorem", node, args)

    def _statement(self, kind, node, args) -> None:
        if len(args) != 2:
            raise self.err(node, f"expected ({kind} NAME FORMULA)")
        name = self.sym(args[0], f"a {kind} name")
        if any(s.name == name for s in self.t.statements):
            raise self.err(args[0], f"{kind} name {name!r} is already used")
        formula = self.formula(args[1], {})
        text = _source_text(self.lines, node)
        self.t.statements.append(Statement(kind, name, formula, text, node.line))

    # formulas
    def formula(self, node, env: dict[str, str]):
        if not isinstance(node, SList) or not node.items:
            raise self.err(node, f"expected a formula (a parenthesised atom or connective), "
                           f"got {_show(node)}")
        head = node.items[0]
        op = self.sym(head, "a relation or connective")
        rest = node.items[1:]
        if op == "and":
            if not rest:
                raise self.err(node, "(and) needs at least one formula")
            return And(tuple(self.formula(x, env) for x in rest))
        if op == "implies":
            if len(rest) != 2:
                raise self.err(node, "expected (implies PREMISE CONCLUSION)")
            return Implies(self.formula(rest[0], env), self.formula(rest[1], env))
        if op == "not":
            if len(rest) != 1:
                raise self.err(node, "expected (not FORMULA)")
            return Not(self.formula(rest[0], env))
        if op == "forall":
            if len(rest) != 2 or not isinstance(rest[0], SList):
                raise self.err(node, "expected (forall ((VAR SORT) ...) FORMULA)")
            new = dict(env)
            vs = []
            for b in rest[0].items:
                if not (isinstance(b, SList) and len(b.items) == 2):
                    raise self.err(b, "expected a typed variable (VAR SORT)")
                v = self.sym(b.items[0], "a variable")
                if v in self.t.constants or v in self.t.relations or _is_int(v) or v in _CONNECTIVES:
                    raise self.err(b.items[0], f"variable {v!r} clashes with a declared symbol")
                if v in new:
                    raise self.err(b.items[0], f"variable {v!r} is bound twice")
                s = self._sort(b.items[1])
                new[v] = s
                vs.append((v, s))
            return Forall(tuple(vs), self.formula(rest[1], new))
        return self.atom(node, op, rest, env)

    def atom(self, node, op, rest, env) -> Atom:
        if op == "=":
            if len(rest) != 2:
                raise self.err(node, "expected (= A B)")
            s1, s2 = (self._term_sort(x, env) for x in rest)
            if s1 != s2:
                raise self.err(node, f"ill-typed (= ...): {rest[0].name} is {s1}, "
                               f"{rest[1].name} is {s2}")
            return Atom("=", (rest[0].name, rest[1].name), node.line, node.col)
        rel = self.t.relations.get(op)
        if rel is None:
            known = sorted(self.t.relations) + sorted(_CONNECTIVES) + ["="]
            raise self.err(node.items[0], f"undefined relation {op!r}: expected one of {known}")
        if len(rest) != len(rel.sorts):
            raise self.err(node, f"relation {op!r} takes {len(rel.sorts)} arguments "
                           f"{rel.sorts}, got {len(rest)}")
        for x, want in zip(rest, rel.sorts, strict=True):
            got = self._term_sort(x, env, want)
            if got != want:
                raise self.err(x, f"ill-typed atom ({op} ...): argument {x.name!r} has sort "
                               f"{got}, expected {want}")
        return Atom(op, tuple(x.name for x in rest), node.line, node.col)

    def _term_sort(self, node, env, want: str | None = None) -> str:
        name = self.sym(node, "a variable or constant (nested terms are written relationally)")
        if name in env:
            return env[name]
        if name in self.t.constants:
            return self.t.constants[name]
        if _is_int(name):
            s = self.t.constant_sort(name)
            if want is not None and self.t.sorts.get(want) and self.t.sorts[want].int_range:
                lo, hi = self.t.sorts[want].int_range
                if lo <= int(name) <= hi:
                    return want
            if s is not None:
                return s
        raise self.err(node, f"undefined symbol {name!r}: not a bound variable "
                       f"{sorted(env)} nor a declared constant")

    def _sort(self, node) -> str:
        name = self.sym(node, "a sort")
        if name not in self.t.sorts:
            raise self.err(node, f"undefined sort {name!r}: expected one of {sorted(self.t.sorts)}")
        return name

    def _fresh(self, node, name: str) -> None:
        t = self.t
        if name in t.sorts or name in t.constants or name in t.relations or name in _KEYWORDS:
            raise self.err(node, f"symbol {name!r} is already declared")


def _show(node) -> str:
    return repr(node.name) if isinstance(node, Sym) else "a list"


def _source_text(lines: list[str], node: SList) -> str:
    """The source of one top-level form (from its line to the line where it closes)."""
    end = _last_line(node)
    return "\n".join(lines[node.line - 1 : end]).strip()


def _last_line(node) -> int:
    if isinstance(node, Sym):
        return node.line
    return max([node.line] + [_last_line(x) for x in node.items])


def parse_theory(text: str, source: str = "<mpl>", base: Theory | None = None) -> Theory:
    """Parse and type-check ``text``; with ``base``, extend a copy of that theory."""
    if base is None:
        theory = Theory(source=source)
    else:
        theory = Theory(
            source=source,
            sorts=dict(base.sorts),
            constants=dict(base.constants),
            relations=dict(base.relations),
            statements=list(base.statements),
            facts=list(base.facts),
            inductions=dict(base.inductions),
            structural=dict(base.structural),
        )
    reader = _Reader(theory, text)
    for node in read_sexprs(text, source):
        reader.form(node)
    return theory


def load_theory(path: str | Path) -> Theory:
    """Read and parse an MPL file (``DataError`` if it is missing or unreadable)."""
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > 4 * MAX_MPL_CHARS:  # UTF-8: at most 4 bytes a character
            raise DataError(
                f"MPL theory {str(p)!r} is {size} bytes, expected at most {4 * MAX_MPL_CHARS}"
            )
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise DataError(f"cannot read MPL theory {str(p)!r}: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise DataError(f"MPL theory {str(p)!r} is not UTF-8 text (byte {e.start})") from None
    return parse_theory(text, str(p))


def theories_dir() -> Path:
    """The folder of the MPL theories that ship with neuralbrain."""
    return Path(__file__).with_name("theories")
