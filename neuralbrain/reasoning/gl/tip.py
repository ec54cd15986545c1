"""TIP reader: a TIP problem file -> the GL reasoner's first-order equational theory.

TIP ("Tons of Inductive Problems", Claessen, Johansson, Rosén, Smallbone, CICM 2015) is a
superset of SMT-LIB 2.6: ``declare-datatype(s)``, ``declare-sort``, ``define-fun(-rec)(s)``
with ``match``, ``par`` polymorphism, lemma hints as ``(assert ...)`` and one ``(prove ...)``.

What a problem becomes (``TipProblem``):

- *sorts*: every datatype instance the problem uses, monomorphised: each type parameter of
  the goal is instantiated with one fresh uninterpreted sort ``sk``; a polymorphic datatype or
  function is instantiated on demand at the ground sorts it is used at, under a mangled name
  (``list[sk]``, ``++[sk]``). ``Bool`` is the datatype ``true | false``.
- *constructors* (with their sorts) and *selectors*, the latter as defined functions
  (``head[sk](cons[sk](x, xs)) = x``; a selector is partial, it has no rule elsewhere).
- *rules*: each defined function's ``match`` cases flattened into rewrite rules
  ``f(pattern...) = body`` (a ``match`` on a parameter substitutes the constructor pattern
  into the left side; a ``match`` on another expression, ``ite``, ``and``, ``or``, ``not``,
  ``=>`` and ``=`` / ``distinct`` inside terms become auxiliary first-order functions with
  their own rules, ``=`` on a datatype by constructor-wise rules).
- *goal*: ``lhs = rhs`` over universally quantified variables; a goal that is not an
  equation of terms is read as the equation ``φ = true`` of its Boolean term.
- *lemma hints* (``(assert φ)``): read like the goal, as statements to prove first
  (``hint_goals``), never as axioms; a hint the reader cannot express is left out.
- *higher-order functions*, defunctionalised (Reynolds, "Definitional interpreters for
  higher-order programming languages", 1972): a function sort ``(=> A B)`` becomes the
  uninterpreted sort ``fun%[A,B]``, ``(@ f x)`` the first-order ``apply%[A,B](f, x)``, and
  each ``lambda`` a closure ``lam%k(free variables...)`` of that sort with its own rule
  ``apply%[A,B](lam%k(...), x) = body``. A function variable stays a variable of the
  uninterpreted sort, so a proof about it holds for every function. A recursive call
  inside a lambda is refused (its decrease is not checked).
- *let*: a binding is read where it is used, under the cases taken around that use, and a
  ``match`` on a constructor term is decided when read. TIP's ``(let ((fail (match y ...)))
  (match x ...))`` idiom is then as structural as the function it spells.
- *equality on an abstract sort* (a type parameter's ``sk`` or a ``declare-sort``): the sort
  is read as the infinite datatype ``sk%0 | sk%s(sk)`` (``_Reader.infinite_model``, where
  the argument that this proves the goal for every domain is made).
- *Int*: read as the naturals ``int%`` with ``+``, ``*``, comparisons and numerals >= 0 as
  functions, where the goal cannot tell the two apart (``tip_ints``).

Every recursive function must terminate, in an order ``termination.decreasing_order`` finds
(lexicographic in some order of the parameters, or a sum of argument sizes with size bounds
of earlier functions): definitions are read as equations, and a non-terminating "definition"
could make the theory inconsistent. A definition it cannot show terminating is refused as
unsupported (``UnsupportedError``: construct ``non-structural recursion``).

Errors: what the reasoner cannot express (``Real``; ``Int`` with ``-``, ``div``, ``mod``, a
negative numeral, or an integer the goal quantifies over meeting a computed one; quantifiers
inside formulas; equality on a function sort inside a term, ...) raises
``UnsupportedError`` whose ``construct`` names it; a malformed or truncated file, an unknown
sort or function, an arity or sort mismatch raises ``TipError`` (a ``DataError``) naming
``file:line:col``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from neuralbrain.errors import DataError
from neuralbrain.reasoning.gl.mpl import MAX_MPL_CHARS, MPLError, SList, Sym, read_sexprs
from neuralbrain.reasoning.gl.termination import SizeBounds, decreasing_order, lex_smaller
from neuralbrain.reasoning.gl.terms import Term, substitute, variables
from neuralbrain.reasoning.gl.tip_ints import (
    INT,
    LE,
    LT,
    MAX_NUMERAL,
    PLUS,
    SUCC,
    TIMES,
    ZERO,
    check_int_roles,
    int_functions,
    numeral,
)

FRESH_SORT = "sk"
FUN, APPLY, LAMBDA = "fun%", "apply%", "lam%"  # defunctionalised higher-order functions
BOOL = "Bool"
TRUE, FALSE = "true", "false"


class TipError(DataError):
    """A malformed TIP file, an unknown name or an ill-sorted term, located ``file:line:col``."""


class UnsupportedError(DataError):
    """A well-formed TIP construct the first-order equational reasoner cannot express."""

    def __init__(self, construct: str, where: str, detail: str = ""):
        self.construct = construct
        self.where = where
        super().__init__(f"{where}: unsupported: {construct}" + (f" ({detail})" if detail else ""))


@dataclass(frozen=True)
class Constructor:
    """``name(fields...) : sort``; ``fields`` are (selector, sort) pairs."""

    name: str
    fields: tuple[tuple[str, str], ...]
    sort: str


@dataclass(frozen=True)
class Function:
    """A defined function: argument sorts, result sort and rewrite rules ``(lhs, rhs)``."""

    name: str
    args: tuple[str, ...]
    result: str
    rules: tuple[tuple[Term, Term], ...]


@dataclass
class TipProblem:
    """The monomorphised first-order theory of one TIP file and its goal ``lhs = rhs``."""

    source: str
    sorts: list[str] = field(default_factory=list)  # every ground sort, in order of use
    uninterpreted: list[str] = field(default_factory=list)
    constructors: dict[str, Constructor] = field(default_factory=dict)
    functions: dict[str, Function] = field(default_factory=dict)
    goal_lhs: Term = ()
    goal_rhs: Term = ()
    goal_vars: tuple[tuple[str, str], ...] = ()  # (variable, sort) in binder order
    hints: int = 0  # (assert ...) lemma hints in the file
    # the hints the reader could express, as (lhs, rhs, variables): to be proved, not assumed
    hint_goals: list[tuple[Term, Term, tuple[tuple[str, str], ...]]] = \
        field(default_factory=list)
    # abstract sorts read as an infinite datatype because ``=`` is used on them (see
    # ``_Reader.infinite_model``)
    equality_sorts: list[str] = field(default_factory=list)

    def datatype(self, sort: str) -> list[Constructor]:
        """Constructors of ``sort`` in declaration order (empty for an uninterpreted sort)."""
        return [c for c in self.constructors.values() if c.sort == sort]

    def constructor_fields(self, sort: str) -> list[tuple[str, tuple[str, ...]]]:
        """``(constructor, field sorts)`` of ``sort``, in declaration order."""
        return [(c.name, tuple(s for _, s in c.fields)) for c in self.datatype(sort)]

    def rules(self) -> list[tuple[str, Term, Term]]:
        """Every rewrite rule as ``(name, lhs, rhs)``, names ``f.k`` (k-th rule of f)."""
        return [(f"{f.name}.{k}", lhs, rhs) for f in self.functions.values()
                for k, (lhs, rhs) in enumerate(f.rules)]


# -- sorts ----------------------------------------------------------------------------------

SortExpr = str | tuple  # "Nat", ("list", "sk")


def mangle(name: str, params: tuple[str, ...]) -> str:
    return f"{name}[{','.join(params)}]" if params else name


@dataclass
class _PolyData:
    name: str
    params: tuple[str, ...]
    cons: list[tuple[str, list[tuple[str, object]]]]  # (ctor, [(selector, sort node)])
    node: SList


@dataclass
class _PolyFun:
    name: str
    params: tuple[str, ...]
    args: list[tuple[str, object]]  # (var, sort node)
    result: object
    body: object
    node: SList
    group: tuple[str, ...]  # mutually recursive group (define-funs-rec) or (name,)


_INT_OPS = {"+", "-", "*", "div", "mod", "abs", "/", "<=", "<", ">=", ">"}
_BUILTIN_OPS = {"and", "or", "not", "=>", "=", "distinct", "ite", "match", "let"}


class _Reader:
    def __init__(self, src: str):
        self.src = src
        self.p = TipProblem(source=src)
        self.datas: dict[str, _PolyData] = {}
        self.funs: dict[str, _PolyFun] = {}
        self.abstract: set[str] = set()
        self.done_sorts: set[str] = set()
        self.done_funs: set[str] = set()
        self.ctor_of: dict[str, str] = {}  # poly ctor/selector -> datatype
        self.fresh_n = 0
        self.aux_n = 0
        self.lam_n = 0
        self.fun_group: set[str] = set()  # the recursive group being read, for lambdas
        self.pending: set[str] = set()  # functions being read: not yet known to terminate
        fns = self.p.functions
        self.sizes = SizeBounds(
            rules=lambda n: fns[n].rules, arg_sorts=lambda n: fns[n].args,
            result=lambda n: fns[n].result,
            ctors=self.p.constructor_fields,
            constructors=self.p.constructors.keys(),
            accepted=lambda n: n in fns and n not in self.pending)

    # -- errors ---------------------------------------------------------------------------
    def where(self, node) -> str:
        if isinstance(node, Sym | SList):
            return f"{self.src}:{node.line}:{node.col}"
        return self.src

    def err(self, node, msg: str) -> TipError:
        return TipError(f"{self.where(node)}: {msg}")

    def unsupported(self, node, construct: str, detail: str = "") -> UnsupportedError:
        return UnsupportedError(construct, self.where(node), detail)

    def sym(self, node, what: str) -> str:
        if not isinstance(node, Sym):
            raise self.err(node, f"expected {what} (a symbol), got a list")
        return node.name

    def lst(self, node, what: str, n: int | None = None) -> tuple:
        if not isinstance(node, SList):
            raise self.err(node, f"expected {what} (a list), got {getattr(node, 'name', node)!r}")
        if n is not None and len(node.items) != n:
            raise self.err(node, f"expected {what} with {n} items, got {len(node.items)}")
        return node.items

    # -- declarations ---------------------------------------------------------------------
    def read(self, text: str) -> TipProblem:
        try:
            forms = read_sexprs(text, self.src)
        except MPLError as e:
            msg = str(e)
            if "never closed" in msg or "not closed" in msg:
                raise TipError(f"{msg} (truncated file?)") from None
            raise TipError(msg) from None
        goal = None
        hints: list = []
        for f in forms:
            items = self.lst(f, "a top-level form like (declare-datatype ...)")
            if not items:
                raise self.err(f, "empty form")
            head = self.sym(items[0], "a command")
            if head == "declare-datatype":
                if len(items) != 3:
                    raise self.err(f, "expected (declare-datatype NAME BODY)")
                self.data(self.sym(items[1], "a datatype name"), items[2], f)
            elif head == "declare-datatypes":
                if len(items) != 3:
                    raise self.err(f, "expected (declare-datatypes ((NAME ARITY)...) (BODY...))")
                decls = self.lst(items[1], "datatype names")
                bodies = self.lst(items[2], "datatype bodies")
                if len(decls) != len(bodies):
                    raise self.err(f, f"{len(decls)} datatype names but {len(bodies)} bodies")
                for d, b in zip(decls, bodies, strict=True):
                    self.data(self.sym(self.lst(d, "(NAME ARITY)", 2)[0], "a name"), b, f)
            elif head == "declare-sort":
                if len(items) != 3 or self.sym(items[2], "an arity") != "0":
                    raise self.unsupported(f, "declare-sort with parameters")
                self.abstract.add(self.sym(items[1], "a sort name"))
            elif head in ("define-fun", "define-fun-rec"):
                if len(items) != 4 and len(items) != 5:
                    raise self.err(f, f"expected ({head} NAME ((x S)...) S BODY)")
                self.fun(items[1:], f, None)
            elif head == "define-funs-rec":
                if len(items) != 3:
                    raise self.err(f, "expected (define-funs-rec (DECL...) (BODY...))")
                decls = self.lst(items[1], "function declarations")
                bodies = self.lst(items[2], "function bodies")
                if len(decls) != len(bodies):
                    raise self.err(f, f"{len(decls)} declarations but {len(bodies)} bodies")
                group = tuple(self.sym(self.lst(d, "a declaration")[0], "a name") for d in decls)
                for d, b in zip(decls, bodies, strict=True):
                    self.fun((*self.lst(d, "a declaration"), b), f, group)
            elif head == "assert":
                if len(items) != 2:
                    raise self.err(f, "expected (assert FORMULA)")
                self.p.hints += 1
                hints.append(items[1])
            elif head == "prove":
                if goal is not None:
                    raise self.err(f, "a second (prove ...): expected exactly one goal")
                if len(items) != 2:
                    raise self.err(f, "expected (prove FORMULA)")
                goal = items[1]
            elif head in ("declare-fun", "declare-const"):
                raise self.unsupported(f, "uninterpreted function or constant", head)
            elif head in ("check-sat", "set-logic", "set-info", "set-option"):
                continue
            else:
                raise self.err(items[0], f"unknown command {head!r}: expected declare-datatype"
                               "(s), declare-sort, define-fun(-rec)(s), assert or prove")
        if goal is None:
            raise TipError(f"{self.src}: no (prove ...) goal (truncated file?)")
        self.p.goal_lhs, self.p.goal_rhs, self.p.goal_vars = self.formula(goal)
        reason = check_int_roles(self.p)
        if reason:
            raise self.unsupported(goal, "built-in Int arithmetic", reason)
        for h in hints:
            try:
                self.p.hint_goals.append(self.formula(h))
            except UnsupportedError:
                continue  # a hint is optional: the problem stands without it
        if BOOL in self.done_sorts:
            # implication is always declared where Bool is: the prover states conditional
            # lemmas as ``implies%(C, R) = true``
            self.bool_op("=>")
        return self.p

    def data(self, name: str, body, node: SList) -> None:
        params: tuple[str, ...] = ()
        if isinstance(body, SList) and body.items and isinstance(body.items[0], Sym) \
                and body.items[0].name == "par":
            if len(body.items) != 3:
                raise self.err(body, "expected (par (A ...) (CONSTRUCTORS))")
            params = tuple(self.sym(x, "a type parameter")
                           for x in self.lst(body.items[1], "type parameters"))
            body = body.items[2]
        if name in self.datas or name in self.abstract or name in (BOOL, "Int", "Real"):
            raise self.err(node, f"sort {name!r} is already declared")
        cons = []
        for c in self.lst(body, "a list of constructors"):
            citems = self.lst(c, "a constructor (NAME (SELECTOR SORT)...)")
            if not citems:
                raise self.err(c, "empty constructor")
            cname = self.sym(citems[0], "a constructor name")
            fields = []
            for fl in citems[1:]:
                sel, srt = self.lst(fl, "a field (SELECTOR SORT)", 2)
                fields.append((self.sym(sel, "a selector name"), srt))
            cons.append((cname, fields))
            for sym in [cname, *(s for s, _ in fields)]:
                if sym in self.ctor_of or sym in self.funs:
                    raise self.err(c, f"symbol {sym!r} is already declared")
                self.ctor_of[sym] = name
        self.datas[name] = _PolyData(name, params, cons, node)

    def fun(self, items: tuple, node: SList, group: tuple[str, ...] | None) -> None:
        name = self.sym(items[0], "a function name")
        rest = list(items[1:])
        params: tuple[str, ...] = ()
        if rest and isinstance(rest[0], SList) and rest[0].items and \
                isinstance(rest[0].items[0], Sym) and rest[0].items[0].name == "par":
            par = rest[0].items
            if len(par) != 3:
                raise self.err(rest[0], "expected (par (A ...) (((x S)...) S))")
            params = tuple(self.sym(x, "a type parameter") for x in self.lst(par[1], "params"))
            sig = self.lst(par[2], "a signature (((x S)...) S)", 2)
            rest = [*sig, *rest[1:]]
        if len(rest) != 3:
            raise self.err(node, f"expected a signature and a body for {name!r}")
        args_node, result, body = rest
        args = []
        for a in self.lst(args_node, "parameters ((x S)...)"):
            v, s = self.lst(a, "a parameter (x S)", 2)
            args.append((self.sym(v, "a parameter name"), s))
        if name in self.funs or name in self.ctor_of or name in _BUILTIN_OPS:
            raise self.err(items[0], f"symbol {name!r} is already declared")
        self.funs[name] = _PolyFun(name, params, args, result, body, node, group or (name,))

    # -- sorts ----------------------------------------------------------------------------
    def sort(self, node, tenv: dict[str, str]) -> str:
        """A sort expression -> a ground (mangled) sort name, instantiating on demand."""
        if isinstance(node, Sym):
            n = node.name
            if n in tenv:
                return tenv[n]
            if n == BOOL:
                self.bool_sort()
                return BOOL
            if n == "Int":
                return self.int_sort()
            if n == "Real":
                raise self.unsupported(node, "built-in Real arithmetic")
            if n in self.abstract:
                if n not in self.done_sorts:
                    self.done_sorts.add(n)
                    self.p.sorts.append(n)
                    self.p.uninterpreted.append(n)
                return n
            if n in self.datas:
                return self.instance(self.datas[n], (), node)
            raise self.err(node, f"unknown sort {n!r}: expected one of "
                           f"{sorted([*self.datas, *self.abstract, BOOL])}")
        items = self.lst(node, "a sort")
        if not items:
            raise self.err(node, "empty sort")
        head = self.sym(items[0], "a sort constructor")
        if head == "=>":
            if len(items) < 3:
                raise self.err(node, "expected (=> ARG... RESULT)")
            return self.fun_sort(tuple(self.sort(a, tenv) for a in items[1:]))
        if head not in self.datas:
            if head in ("Array",):
                raise self.unsupported(node, "arrays")
            raise self.err(items[0], f"unknown sort {head!r}")
        args = tuple(self.sort(a, tenv) for a in items[1:])
        return self.instance(self.datas[head], args, node)

    def int_sort(self) -> str:
        """``Int`` read as the naturals ``int%`` with its arithmetic (``tip_ints``; the goal
        is checked to be one the naturals prove for the integers, ``check_int_roles``)."""
        if INT not in self.done_sorts:
            self.bool_sort()
            self.done_sorts.add(INT)
            self.p.sorts.append(INT)
            self.p.constructors[ZERO] = Constructor(ZERO, (), INT)
            self.p.constructors[SUCC] = Constructor(SUCC, (("int%p", INT),), INT)
            for name, (args, res, rules) in int_functions().items():
                self.p.functions[name] = Function(name, args, res, rules)
        return INT

    def int_op(self, node, head: str, args, env: dict, tenv: dict) -> tuple[Term, str]:
        if head in ("-", "div", "mod", "abs", "/"):
            raise self.unsupported(node, "built-in Int arithmetic", f"({head} ...)")
        ts = []
        for a in args:
            t, s = self.term(a, env, tenv, INT)
            if s != INT:
                raise self.err(a, f"argument of {head} has sort {s}, expected Int")
            ts.append(t)
        if head in ("+", "*"):
            if len(ts) < 2:
                raise self.err(node, f"expected ({head} A B ...)")
            t = ts[-1]
            for a in reversed(ts[:-1]):
                t = (PLUS if head == "+" else TIMES, a, t)
            return t, INT
        if len(ts) != 2:
            raise self.err(node, f"expected ({head} A B)")
        a, b = ts if head in ("<=", "<") else ts[::-1]
        return (LE if head in ("<=", ">=") else LT, a, b), BOOL

    def fun_sort(self, sorts: tuple[str, ...]) -> str:
        """``(=> A... B)`` -> the uninterpreted sort ``fun%[A,...,B]`` of its function values
        (defunctionalisation: a value is applied by ``apply%[A,...,B]``)."""
        name = mangle(FUN, sorts)
        if name not in self.done_sorts:
            self.done_sorts.add(name)
            self.p.sorts.append(name)
            self.p.uninterpreted.append(name)
            self.p.functions[mangle(APPLY, sorts)] = Function(mangle(APPLY, sorts),
                                                              (name, *sorts[:-1]), sorts[-1], ())
        return name

    def bool_sort(self) -> None:
        if BOOL not in self.done_sorts:
            self.done_sorts.add(BOOL)
            self.p.sorts.append(BOOL)
            self.p.constructors[FALSE] = Constructor(FALSE, (), BOOL)
            self.p.constructors[TRUE] = Constructor(TRUE, (), BOOL)

    def instance(self, d: _PolyData, args: tuple[str, ...], node) -> str:
        if len(args) != len(d.params):
            raise self.err(node, f"sort {d.name!r} takes {len(d.params)} parameters, "
                           f"got {len(args)}")
        name = mangle(d.name, args)
        if name in self.done_sorts:
            return name
        if len(self.done_sorts) > 200:
            raise self.unsupported(node, "polymorphic recursion (unbounded instances)")
        self.done_sorts.add(name)
        self.p.sorts.append(name)
        tenv = dict(zip(d.params, args, strict=True))
        for cname, fields in d.cons:
            fs = tuple((mangle(sel, args), self.sort(s, tenv)) for sel, s in fields)
            cn = mangle(cname, args)
            self.p.constructors[cn] = Constructor(cn, fs, name)
        for cname, _ in d.cons:
            c = self.p.constructors[mangle(cname, args)]
            xs = tuple(f"x{i}" for i in range(len(c.fields)))
            for i, (sel, ssort) in enumerate(c.fields):
                prev = self.p.functions.get(sel)
                rule = ((sel, (c.name, *xs)), xs[i])
                rules = (*prev.rules, rule) if prev else (rule,)
                self.p.functions[sel] = Function(sel, (name,), ssort, rules)
        return name

    # -- functions ------------------------------------------------------------------------
    def function(self, f: _PolyFun, targs: tuple[str, ...], node) -> str:
        """Instantiate ``f`` at ``targs``; returns the mangled name (rules built once)."""
        name = mangle(f.name, targs)
        if name in self.done_funs:
            return name
        if len(self.done_funs) > 400:
            raise self.unsupported(node, "polymorphic recursion (unbounded instances)")
        self.done_funs.add(name)
        self.pending.add(name)
        tenv = dict(zip(f.params, targs, strict=True))
        arg_sorts = tuple(self.sort(s, tenv) for _, s in f.args)
        res = self.sort(f.result, tenv)
        # declare before the body so recursive calls type-check
        self.p.functions[name] = Function(name, arg_sorts, res, ())
        xs = tuple(v for v, _ in f.args)
        env: dict[str, tuple[Term, str]] = {v: (v, s) for v, s in zip(xs, arg_sorts, strict=True)}
        if len(set(xs)) != len(xs):
            raise self.err(f.node, f"function {f.name!r} repeats a parameter name")
        rules: list[tuple[Term, Term]] = []
        aux0 = self.aux_n
        group = {mangle(g, targs) for g in f.group} | {name}
        outer, self.fun_group = self.fun_group, self.fun_group | group
        try:
            self.cases((name, *xs), env, f.body, res, tenv, rules)
        finally:
            self.fun_group = outer
        self.p.functions[name] = Function(name, arg_sorts, res, tuple(rules))
        # A recursive call inside an auxiliary case function (a match on an expression) is
        # checked against the left side of the rule that calls that case function: the
        # case function's free variables are that rule's variables, under the same names.
        aux = {f"case%{k}" for k in range(aux0 + 1, self.aux_n + 1)}
        todo = [(lhs, rhs) for lhs, rhs in rules]
        seen: set[tuple[str, Term]] = set()
        calls: list[tuple[Term, Term]] = []
        while todo:
            lhs, rhs = todo.pop()
            calls.extend((lhs, c) for c in _calls(rhs, group))
            for a in _calls(rhs, aux):
                if (a[0], lhs) in seen:
                    continue
                seen.add((a[0], lhs))
                todo.extend((lhs, r) for _, r in self.p.functions[a[0]].rules)
        self.check_termination(name, calls, len(group) == 1, f.node)
        self.pending.discard(name)
        return name

    def fresh(self, base: str, taken: set[str]) -> str:
        base = "".join(ch for ch in base if ch.isalnum() or ch == "_") or "v"
        v = base
        k = 0
        while v in taken:
            k += 1
            v = f"{base}{k}"
        taken.add(v)
        return v

    def cases(self, lhs: Term, env: dict, body, res: str, tenv: dict, out: list) -> None:
        """Flatten ``body`` (matches on variables of ``lhs``) into rules ``lhs = ...``."""
        if isinstance(body, SList) and body.items and isinstance(body.items[0], Sym):
            head = body.items[0].name
            if head == "match":
                if len(body.items) != 3:
                    raise self.err(body, "expected (match E ((PATTERN BODY) ...))")
                scrut, ssort = self.term(body.items[1], env, tenv)
                if isinstance(scrut, str) and scrut in variables(lhs):
                    for pat_term, penv, cbody in self.match_cases(body, scrut, ssort, env,
                                                                   set(variables(lhs)), tenv):
                        sigma = {scrut: pat_term}
                        new_env = _substitute_env(env, sigma)
                        new_env.update(penv)
                        self.cases(substitute(lhs, sigma), new_env, cbody, res, tenv, out)
                    return
                chosen = self.static_case(body, scrut, ssort, env, set(variables(lhs)), tenv)
                if chosen is not None:
                    self.cases(lhs, chosen[0], chosen[1], res, tenv, out)
                    return
            if head == "let":
                if len(body.items) != 3:
                    raise self.err(body, "expected (let ((x E)...) BODY)")
                new_env = dict(env)
                for b in self.lst(body.items[1], "let bindings"):
                    v, e = self.lst(b, "a binding (x E)", 2)
                    # read where it is used: TIP's ``(let ((fail (match y ...))) ...)`` idiom
                    # is only structurally recursive once the cases around each use are known
                    new_env[self.sym(v, "a name")] = _Lazy(e, env)
                self.cases(lhs, new_env, body.items[2], res, tenv, out)
                return
        if isinstance(body, Sym) and isinstance(env.get(body.name), _Lazy):
            lazy = env[body.name]
            self.cases(lhs, lazy.env, lazy.node, res, tenv, out)
            return
        rhs, s = self.term(body, env, tenv)
        if s != res:
            raise self.err(body, f"body has sort {s}, expected {res}")
        out.append((lhs, rhs))

    def static_case(self, node: SList, scrut: Term, ssort: str, env: dict, taken: set[str],
                    tenv: dict) -> tuple[dict, object] | None:
        """``(match C(a...) cases)`` on a constructor term: the env and body of C's case,
        its pattern variables bound to ``a...`` (None if ``scrut`` is not a constructor term)."""
        if isinstance(scrut, str) or scrut[0] not in self.p.constructors:
            return None
        taken = taken | set(variables(scrut))
        for pat, penv, cbody in self.match_cases(node, "", ssort, env, taken, tenv):
            if pat[0] == scrut[0]:
                sigma = dict(zip(pat[1:], scrut[1:], strict=True))
                new_env = dict(env)
                new_env.update(_substitute_env(penv, sigma))
                return new_env, cbody
        raise self.err(node, f"no case for constructor {scrut[0]}")  # match_cases covers all

    def match_cases(self, node: SList, scrut_hint: str, ssort: str, env: dict,
                    taken: set[str], tenv: dict) -> list[tuple[Term, dict, object]]:
        """``(pattern term, pattern-variable env, case body)`` per constructor, ``_`` expanded."""
        ctors = self.p.datatype(ssort)
        if not ctors:
            raise self.err(node, f"match on sort {ssort}, which has no constructors")
        out: list[tuple[Term, dict, object]] = []
        covered: set[str] = set()
        for case in self.lst(node.items[2], "match cases"):
            pat, cbody = self.lst(case, "a case (PATTERN BODY)", 2)
            if isinstance(pat, Sym) and pat.name not in self.ctor_of and \
                    pat.name not in (TRUE, FALSE):
                # a variable or _: every constructor not matched yet
                for c in ctors:
                    if c.name in covered:
                        continue
                    covered.add(c.name)
                    xs = tuple(self.fresh(sel.split("[")[0], taken) for sel, _ in c.fields)
                    t: Term = (c.name, *xs)
                    penv = {"%" + x: (x, s) for x, (_, s) in zip(xs, c.fields, strict=True)}
                    if pat.name != "_":
                        penv[pat.name] = (t, ssort)
                    out.append((t, penv, cbody))
                continue
            pitems = (pat,) if isinstance(pat, Sym) else self.lst(pat, "a pattern")
            cname = self.sym(pitems[0], "a constructor")
            c = next((k for k in ctors if k.name.split("[")[0] == cname or k.name == cname), None)
            if c is None:
                raise self.err(pitems[0], f"{cname!r} is not a constructor of {ssort}: "
                               f"expected one of {[k.name for k in ctors]}")
            if len(pitems) - 1 != len(c.fields):
                raise self.err(pat, f"constructor {cname} takes {len(c.fields)} fields, "
                               f"pattern has {len(pitems) - 1}")
            if c.name in covered:
                continue  # unreachable case
            covered.add(c.name)
            penv = {}
            xs = []
            for pv, (_, s) in zip(pitems[1:], c.fields, strict=True):
                pn = self.sym(pv, "a pattern variable")
                x = self.fresh(pn if pn != "_" else "v", taken)
                xs.append(x)
                penv["%" + x] = (x, s)  # hidden key: the sort of every pattern variable
                if pn != "_":
                    penv[pn] = (x, s)
            out.append(((c.name, *xs), penv, cbody))
        return out

    def check_termination(self, name: str, calls: list[tuple[Term, Term]], alone: bool,
                          node) -> None:
        """Every recursive call ``(lhs, call)`` descends one well-founded order
        (``termination.decreasing_order``), or the function is refused."""
        if not calls:
            return
        if decreasing_order(calls, len(calls[0][0]) - 1, alone, self.sizes) is None:
            # name a call that is not structural in parameter order (there is one)
            lhs, call = next((c for c in calls if len(c[1]) != len(c[0]) or
                              not lex_smaller(list(c[1][1:]), list(c[0][1:]))), calls[0])
            raise self.unsupported(node, "non-structural recursion",
                                   f"{name}: no order of its arguments, lexicographic or by "
                                   f"size, decreases along every recursive call, e.g. "
                                   f"{_show_term(call)} from {_show_term(lhs)}")

    # -- terms ----------------------------------------------------------------------------
    def term(self, node, env: dict, tenv: dict, want: str | None = None) -> tuple[Term, str]:
        """An expression -> (first-order term, its ground sort)."""
        if isinstance(node, Sym):
            n = node.name
            if n in env:
                if isinstance(env[n], _Lazy):
                    return self.term(env[n].node, env[n].env, tenv, want)
                return env[n]
            if n in (TRUE, FALSE):
                self.bool_sort()
                return (n,), BOOL
            if n.isdigit():
                if int(n) > MAX_NUMERAL:
                    raise self.unsupported(node, "built-in Int arithmetic",
                                           f"the numeral {n} is above {MAX_NUMERAL}, the "
                                           "largest read as a chain of successors")
                return numeral(int(n)), self.int_sort()
            if n[:1] == "-" and n[1:].isdigit():
                raise self.unsupported(node, "built-in Int arithmetic", "a negative numeral")
            return self.apply(node, n, [], None, env, tenv, want)
        items = self.lst(node, "an expression")
        if not items:
            raise self.err(node, "empty expression")
        h = items[0]
        if isinstance(h, SList):  # (_ nil a) applied: ((_ f S) args)
            hi = self.lst(h, "an indexed symbol")
            if len(hi) >= 2 and isinstance(hi[0], Sym) and hi[0].name == "_":
                return self.apply(h, self.sym(hi[1], "a name"), list(items[1:]),
                                  tuple(self.sort(s, tenv) for s in hi[2:]), env, tenv, want)
            raise self.unsupported(node, "higher-order application")
        head = h.name
        args = items[1:]
        if head == "_":
            if len(args) < 1:
                raise self.err(node, "expected (_ NAME SORT...)")
            return self.apply(node, self.sym(args[0], "a name"), [],
                              tuple(self.sort(s, tenv) for s in args[1:]), env, tenv, want)
        if head == "@":
            return self.application(node, args, env, tenv)
        if head == "lambda":
            return self.closure(node, args, env, tenv)
        if head in ("forall", "exists"):
            raise self.unsupported(node, f"quantifier inside a formula ({head})")
        if head == "let":
            if len(args) != 2:
                raise self.err(node, "expected (let ((x E)...) BODY)")
            new_env = dict(env)
            for b in self.lst(args[0], "let bindings"):
                v, e = self.lst(b, "a binding (x E)", 2)
                new_env[self.sym(v, "a name")] = self.term(e, env, tenv)
            return self.term(args[1], new_env, tenv, want)
        if head == "match":
            return self.aux_match(node, env, tenv, want)
        if head in ("and", "or"):
            ts = [self.bool_term(a, env, tenv) for a in args]
            if not ts:
                return ((TRUE,) if head == "and" else (FALSE,)), BOOL
            t = ts[-1]
            for a in reversed(ts[:-1]):
                t = (self.bool_op(head), a, t)
            return t, BOOL
        if head == "not":
            if len(args) != 1:
                raise self.err(node, "expected (not E)")
            return (self.bool_op("not"), self.bool_term(args[0], env, tenv)), BOOL
        if head == "=>":
            if len(args) < 2:
                raise self.err(node, "expected (=> A B ...)")
            ts = [self.bool_term(a, env, tenv) for a in args]
            t = ts[-1]
            for a in reversed(ts[:-1]):
                t = (self.bool_op("=>"), a, t)
            return t, BOOL
        if head in ("=", "distinct"):
            if len(args) != 2:
                raise self.unsupported(node, f"{head} with {len(args)} arguments")
            a, sa = self.term(args[0], env, tenv)
            b, sb = self.term(args[1], env, tenv, sa)
            if sa != sb:
                raise self.err(node, f"= between sorts {sa} and {sb}")
            t = (self.equal_fn(sa, node), a, b)
            if head == "distinct":
                t = (self.bool_op("not"), t)
            return t, BOOL
        if head in _INT_OPS and head not in self.funs:  # a problem may define its own <=
            return self.int_op(node, head, args, env, tenv)
        if head == "ite":
            if len(args) != 3:
                raise self.err(node, "expected (ite C A B)")
            c = self.bool_term(args[0], env, tenv)
            a, sa = self.term(args[1], env, tenv, want)
            b, sb = self.term(args[2], env, tenv, sa)
            if sa != sb:
                raise self.err(node, f"ite branches of sorts {sa} and {sb}")
            return (self.ite_fn(sa), c, a, b), sa
        return self.apply(h, head, list(args), None, env, tenv, want)

    def application(self, node, args, env: dict, tenv: dict) -> tuple[Term, str]:
        """``(@ F X...)`` -> ``apply%[A...,B](F, X...)``."""
        if len(args) < 2:
            raise self.err(node, "expected (@ FUNCTION ARG...)")
        f, fs = self.term(args[0], env, tenv)
        inst = self._instance_args(fs)
        if inst is None or inst[0] != FUN:
            raise self.err(args[0], f"(@ F ...) applies a value of sort {fs}, expected a "
                           "function sort (=> ...)")
        want = inst[1]
        if len(args) - 1 != len(want) - 1:
            raise self.err(node, f"a function of sort {fs} takes {len(want) - 1} arguments, "
                           f"got {len(args) - 1}")
        xs = []
        for a, w in zip(args[1:], want[:-1], strict=True):
            t, s = self.term(a, env, tenv, w)
            if s != w:
                raise self.err(a, f"argument of sort {s}, expected {w}")
            xs.append(t)
        return (mangle(APPLY, tuple(want)), f, *xs), want[-1]

    def closure(self, node, args, env: dict, tenv: dict) -> tuple[Term, str]:
        """``(lambda ((x S)...) E)`` -> a closure ``lam%k(free...)`` of the function sort,
        and the rule ``apply%[S...,T](lam%k(free...), x...) = E`` (Reynolds'
        defunctionalisation: one first-order symbol per lambda, applied by ``apply%``)."""
        if len(args) != 2:
            raise self.err(node, "expected (lambda ((x S)...) BODY)")
        taken = {v for t, _ in _env_terms(env) for v in variables(t)}
        free_sorts = {t: s for t, s in _env_terms(env) if isinstance(t, str)}
        inner = dict(env)
        params: list[tuple[str, str]] = []
        for b in self.lst(args[0], "lambda parameters ((x S)...)"):
            v, s = self.lst(b, "a parameter (x S)", 2)
            name = self.sym(v, "a parameter name")
            x = self.fresh(name, taken)
            params.append((x, self.sort(s, tenv)))
            inner[name] = params[-1]
        if not params:
            raise self.err(node, "a lambda without parameters")
        body, res = self.term(args[1], inner, tenv)
        free = [v for v in variables(body) if v not in {x for x, _ in params}]
        missing = [v for v in free if v not in free_sorts]
        if missing:
            raise self.unsupported(node, "lambda over a variable bound inside a pattern",
                                   ", ".join(missing))
        if any(_calls(body, self.fun_group)):
            raise self.unsupported(node, "non-structural recursion",
                                   "a recursive call inside a lambda")
        sorts = (*(s for _, s in params), res)
        fs = self.fun_sort(sorts)
        self.lam_n += 1
        lam = f"{LAMBDA}{self.lam_n}"
        self.p.functions[lam] = Function(lam, tuple(free_sorts[v] for v in free), fs, ())
        closure: Term = (lam, *free)
        ap = self.p.functions[mangle(APPLY, sorts)]
        rule = ((ap.name, closure, *(x for x, _ in params)), body)
        self.p.functions[ap.name] = Function(ap.name, ap.args, ap.result, (*ap.rules, rule))
        return closure, fs

    def bool_term(self, node, env: dict, tenv: dict) -> Term:
        t, s = self.term(node, env, tenv, BOOL)
        if s != BOOL:
            raise self.err(node, f"expected a Bool, got sort {s}")
        return t

    def apply(self, node, name: str, args: list, sorts: tuple[str, ...] | None, env: dict,
              tenv: dict, want: str | None) -> tuple[Term, str]:
        """``name`` applied to ``args``: a constructor, a selector or a defined function."""
        if name in env and not args:
            return env[name]
        if name in env:
            raise self.unsupported(node, "higher-order function (a variable applied)")
        targs_t = [self.term(a, env, tenv) for a in args]
        arg_terms = [t for t, _ in targs_t]
        arg_sorts = [s for _, s in targs_t]
        if name in self.ctor_of:
            d = self.datas[self.ctor_of[name]]
            # constructor or selector: the datatype's parameters from the sorts
            for cname, fields in d.cons:
                if cname == name:
                    decl = [s for _, s in fields]
                    res_node = None
                    break
                sel = next((s for sl, s in fields if sl == name), None)
                if sel is not None:
                    decl = [None]
                    res_node = sel
                    break
            binding = self.infer(node, d.params, decl, arg_sorts, sorts, want,
                                 d, res_node, name)
            targs = tuple(binding[p] for p in d.params)
            sort = self.instance(d, targs, node)
            mname = mangle(name, targs)
            if mname in self.p.constructors:
                c = self.p.constructors[mname]
                want_sorts = [s for _, s in c.fields]
                res = c.sort
            else:
                fn = self.p.functions[mname]
                want_sorts, res = list(fn.args), fn.result
            del sort
        elif name in self.funs:
            f = self.funs[name]
            if len(args) != len(f.args):
                raise self.err(node, f"{name} takes {len(f.args)} arguments, got {len(args)}")
            binding = self.infer_fun(node, f, arg_sorts, sorts, want)
            targs = tuple(binding[p] for p in f.params)
            mname = self.function(f, targs, node)
            fn = self.p.functions[mname]
            want_sorts, res = list(fn.args), fn.result
        else:
            raise self.err(node, f"unknown function or constructor {name!r}")
        if len(want_sorts) != len(arg_terms):
            raise self.err(node, f"{name} takes {len(want_sorts)} arguments, "
                           f"got {len(arg_terms)}")
        for a, s, w in zip(args, arg_sorts, want_sorts, strict=True):
            if s != w:
                raise self.err(a, f"argument of {name} has sort {s}, expected {w}")
        return (mname, *arg_terms), res

    def infer(self, node, params, decl, arg_sorts, explicit, want, d, res_node, name) -> dict:
        if not params:
            return {}
        if explicit:
            # (_ nil a): the explicit sorts are the datatype's parameters
            if len(explicit) != len(params):
                raise self.err(node, f"(_ {name} ...) expects {len(params)} sorts")
            return dict(zip(params, explicit, strict=True))
        binding: dict[str, str] = {}
        if res_node is not None:  # a selector: its argument has the datatype's sort
            self.unify_ground((d.name, *params) if params else d.name, arg_sorts[0]
                              if arg_sorts else None, binding, params, node)
        else:
            for dn, s in zip(decl, arg_sorts, strict=True):
                self.unify(dn, s, binding, params, node)
        if len(binding) < len(params) and want is not None:
            self.unify_ground((d.name, *params), want, binding, params, node)
        missing = [p for p in params if p not in binding]
        if missing:
            raise self.err(node, f"cannot infer the type parameters {missing} of {name!r}")
        return binding

    def infer_fun(self, node, f: _PolyFun, arg_sorts, explicit, want) -> dict:
        if not f.params:
            return {}
        if explicit:
            if len(explicit) != len(f.params):
                raise self.err(node, f"(_ {f.name} ...) expects {len(f.params)} sorts")
            return dict(zip(f.params, explicit, strict=True))
        binding: dict[str, str] = {}
        for (_, sn), s in zip(f.args, arg_sorts, strict=True):
            self.unify(sn, s, binding, f.params, node)
        if len(binding) < len(f.params) and want is not None:
            self.unify(f.result, want, binding, f.params, node)
        missing = [p for p in f.params if p not in binding]
        if missing:
            raise self.err(node, f"cannot infer the type parameters {missing} of {f.name!r}")
        return binding

    def unify_ground(self, pattern, ground, binding, params, node) -> None:
        if ground is None:
            return
        if isinstance(pattern, str):
            self.unify(Sym(pattern, 0, 0), ground, binding, params, node)
            return
        self.unify(SList(tuple(Sym(x, 0, 0) for x in pattern), 0, 0), ground, binding, params,
                   node)

    def unify(self, sort_node, ground: str, binding: dict, params, node) -> None:
        """Bind the type parameters in ``sort_node`` so that it denotes ``ground``."""
        if isinstance(sort_node, Sym) and sort_node.name in params:
            prev = binding.get(sort_node.name)
            if prev is not None and prev != ground:
                raise self.err(node, f"type parameter {sort_node.name} is both {prev} "
                               f"and {ground}")
            binding[sort_node.name] = ground
            return
        if isinstance(sort_node, Sym):
            return  # a ground sort: checked against the argument later
        items = sort_node.items
        if not items or not isinstance(items[0], Sym):
            return
        head = items[0].name
        if head == "=>":
            head = FUN
        inst = self._instance_args(ground)
        if inst is None or inst[0] != head or len(inst[1]) != len(items) - 1:
            return  # mismatch: reported by the sort check
        for sn, g in zip(items[1:], inst[1], strict=True):
            self.unify(sn, g, binding, params, node)

    def _instance_args(self, ground: str) -> tuple[str, list[str]] | None:
        """``"list[pair[sk,sk]]"`` -> ``("list", ["pair[sk,sk]"])``."""
        if "[" not in ground:
            return ground, []
        head, rest = ground.split("[", 1)
        rest = rest[:-1]
        parts, depth, cur = [], 0, ""
        for ch in rest:
            if ch == "," and depth == 0:
                parts.append(cur)
                cur = ""
                continue
            depth += ch == "["
            depth -= ch == "]"
            cur += ch
        parts.append(cur)
        return head, parts

    # -- auxiliary first-order functions --------------------------------------------------
    def bool_op(self, op: str) -> str:
        self.bool_sort()
        name = {"and": "and%", "or": "or%", "not": "not%", "=>": "implies%"}[op]
        if name in self.p.functions:
            return name
        T, F = (TRUE,), (FALSE,)
        if op == "not":
            rules = (((name, T), F), ((name, F), T))
            self.p.functions[name] = Function(name, (BOOL,), BOOL, rules)
            return name
        rules = {
            "and": (((name, T, "y"), "y"), ((name, F, "y"), F)),
            "or": (((name, T, "y"), T), ((name, F, "y"), "y")),
            "=>": (((name, T, "y"), "y"), ((name, F, "y"), T)),
        }[op]
        self.p.functions[name] = Function(name, (BOOL, BOOL), BOOL, rules)
        return name

    def ite_fn(self, sort: str) -> str:
        name = f"ite%[{sort}]"
        if name not in self.p.functions:
            rules = (((name, (TRUE,), "x", "y"), "x"), ((name, (FALSE,), "x", "y"), "y"))
            self.p.functions[name] = Function(name, (BOOL, sort, sort), sort, rules)
        return name

    def equal_fn(self, sort: str, node) -> str:
        """``=`` on a datatype as a Bool function defined constructor by constructor."""
        name = f"equal%[{sort}]"
        if name in self.p.functions:
            return name
        ctors = self.p.datatype(sort)
        if not ctors and sort in self.p.uninterpreted and not sort.startswith(FUN):
            ctors = self.infinite_model(sort)
        if not ctors:
            raise self.unsupported(node, f"equality on the uninterpreted sort {sort} inside "
                                   "a term")
        self.p.functions[name] = Function(name, (sort, sort), BOOL, ())
        rules = []
        for c in ctors:
            for d in ctors:
                xs = tuple(f"x{i}" for i in range(len(c.fields)))
                ys = tuple(f"y{i}" for i in range(len(d.fields)))
                lhs = (name, (c.name, *xs), (d.name, *ys))
                if c.name != d.name:
                    rules.append((lhs, (FALSE,)))
                    continue
                parts = [(self.equal_fn(s, node), x, y)
                         for x, y, (_, s) in zip(xs, ys, c.fields, strict=True)]
                rhs: Term = (TRUE,)
                if parts:
                    rhs = parts[-1]
                    for p in reversed(parts[:-1]):
                        rhs = (self.bool_op("and"), p, rhs)
                rules.append((lhs, rhs))
        self.p.functions[name] = Function(name, (sort, sort), BOOL, tuple(rules))
        return name

    def infinite_model(self, sort: str) -> list[Constructor]:
        """Read the abstract sort ``sort`` as the infinite datatype ``sort%0 | sort%s(sort)``,
        for ``=`` on it: the problem's functions and goal touch its values only through ``=``
        (nothing can match on it or declare functions into it), so a counterexample over any
        domain, which uses finitely many values, maps injectively into this one and stays a
        counterexample. A goal proved here holds for every domain."""
        self.p.uninterpreted.remove(sort)
        self.p.equality_sorts.append(sort)
        zero, succ = f"{sort}%0", f"{sort}%s"
        self.p.constructors[zero] = Constructor(zero, (), sort)
        self.p.constructors[succ] = Constructor(succ, ((f"{sort}%p", sort),), sort)
        return self.p.datatype(sort)

    def aux_match(self, node: SList, env: dict, tenv: dict, want: str | None) -> tuple[Term, str]:
        """``(match E cases)`` on a non-parameter: an auxiliary function of E and the free
        variables of the enclosing rule, defined by one rule per case (on a constructor
        term, simply the term of its case)."""
        if len(node.items) != 3:
            raise self.err(node, "expected (match E ((PATTERN BODY) ...))")
        scrut, ssort = self.term(node.items[1], env, tenv)
        bound = list(_env_terms(env))
        free: list[str] = []
        for t, _ in bound:
            for v in variables(t):
                if v not in free:
                    free.append(v)
        chosen = self.static_case(node, scrut, ssort, env, set(free), tenv)
        if chosen is not None:
            return self.term(chosen[1], chosen[0], tenv, want)
        free_sorts = {}
        for t, s in bound:
            if isinstance(t, str):
                free_sorts[t] = s
        # variables only reachable inside compound env terms get their sorts from the rules
        for t, _ in bound:
            if not isinstance(t, str):
                for v in variables(t):
                    if v not in free_sorts:
                        raise self.unsupported(node, "match on an expression under a "
                                               "pattern binding")
        self.aux_n += 1
        name = f"case%{self.aux_n}"
        s_var = self.fresh("s", set(free))
        lhs: Term = (name, s_var, *free)
        aux_env = dict(env)
        rules: list[tuple[Term, Term]] = []
        res = None
        self.p.functions[name] = Function(name, (ssort, *(free_sorts[v] for v in free)),
                                          want or "?", ())
        for pat, penv, cbody in self.match_cases(node, s_var, ssort, aux_env, {*free, s_var},
                                                 tenv):
            sigma = {s_var: pat}
            e2 = dict(aux_env)
            e2.update(penv)
            rhs, s = self.term(cbody, e2, tenv, want or res)
            if res is None:
                res = s
                self.p.functions[name] = Function(name, (ssort, *(free_sorts[v] for v in free)),
                                                  res, ())
            elif s != res:
                raise self.err(cbody, f"match case of sort {s}, expected {res}")
            rules.append((substitute(lhs, sigma), rhs))
        assert res is not None  # match_cases returns at least one case for a datatype
        self.p.functions[name] = Function(name, (ssort, *(free_sorts[v] for v in free)), res,
                                          tuple(rules))
        return (name, scrut, *free), res

    # -- the goal -------------------------------------------------------------------------
    def formula(self, node) -> tuple[Term, Term, tuple[tuple[str, str], ...]]:
        """A closed formula (the goal, a hint) -> ``(lhs, rhs, variables)``."""
        body = node
        tenv: dict[str, str] = {}
        if isinstance(body, SList) and body.items and isinstance(body.items[0], Sym) and \
                body.items[0].name == "par":
            if len(body.items) != 3:
                raise self.err(body, "expected (par (A ...) FORMULA)")
            for a in self.lst(body.items[1], "type parameters"):
                tenv[self.sym(a, "a type parameter")] = FRESH_SORT
            if FRESH_SORT not in self.done_sorts:
                self.done_sorts.add(FRESH_SORT)
                self.p.sorts.append(FRESH_SORT)
                self.p.uninterpreted.append(FRESH_SORT)
            body = body.items[2]
        env: dict[str, tuple[Term, str]] = {}
        binders: list[tuple[str, str]] = []
        while isinstance(body, SList) and body.items and isinstance(body.items[0], Sym) and \
                body.items[0].name == "forall":
            if len(body.items) != 3:
                raise self.err(body, "expected (forall ((x S)...) F)")
            for b in self.lst(body.items[1], "binders"):
                v, s = self.lst(b, "a binder (x S)", 2)
                name = self.sym(v, "a variable")
                srt = self.sort(s, tenv)
                var = self.fresh(name, {x for x, _ in binders})
                env[name] = (var, srt)
                binders.append((var, srt))
            body = body.items[2]
        # a let around the formula binds terms: (let ((y2 (max y z))) (= ...)) is an equation
        while isinstance(body, SList) and len(body.items) == 3 and \
                isinstance(body.items[0], Sym) and body.items[0].name == "let":
            outer, env = env, dict(env)
            for b in self.lst(body.items[1], "let bindings"):
                v, e = self.lst(b, "a binding (x E)", 2)
                env[self.sym(v, "a name")] = self.term(e, outer, tenv)
            body = body.items[2]
        if isinstance(body, SList) and len(body.items) == 3 and isinstance(body.items[0], Sym) \
                and body.items[0].name == "=":
            a, sa = self.term(body.items[1], env, tenv)
            b, sb = self.term(body.items[2], env, tenv, sa)
            if sa != sb:
                raise self.err(body, f"= between sorts {sa} and {sb}")
            return a, b, tuple(binders)
        return self.bool_term(body, env, tenv), (TRUE,), tuple(binders)


@dataclass(frozen=True)
class _Lazy:
    """A ``let`` binding read where it is used, in the env of its ``let``."""

    node: object
    env: dict


def _substitute_env(env: dict, sigma: dict) -> dict:
    return {k: _Lazy(v.node, _substitute_env(v.env, sigma)) if isinstance(v, _Lazy)
            else (substitute(v[0], sigma), v[1]) for k, v in env.items()}


def _env_terms(env: dict):
    """The (term, sort) values of ``env``, those inside lazy bindings' envs included."""
    for v in env.values():
        if isinstance(v, _Lazy):
            yield from _env_terms(v.env)
        else:
            yield v


def _calls(t: Term, names: set[str]):
    """Sub-terms of ``t`` whose head is in ``names``."""
    if isinstance(t, str):
        return
    if t[0] in names:
        yield t
    for a in t[1:]:
        yield from _calls(a, names)


def _show_term(t: Term) -> str:
    if isinstance(t, str):
        return t
    if len(t) == 1:
        return t[0]
    return f"({t[0]} {' '.join(_show_term(a) for a in t[1:])})"


def parse_tip(text: str, source: str = "<tip>") -> TipProblem:
    """Read one TIP problem (see the module docstring); ``TipError`` / ``UnsupportedError``."""
    try:
        return _Reader(source).read(text)
    except RecursionError:
        raise UnsupportedError("terms nested too deeply", source) from None


def load_tip(path: str | Path) -> TipProblem:
    """Read and parse a TIP file (``TipError`` when it is missing, too big or not UTF-8)."""
    p = Path(path)
    try:
        if p.stat().st_size > 4 * MAX_MPL_CHARS:
            raise TipError(f"TIP file {str(p)!r} is {p.stat().st_size} bytes, expected at most "
                           f"{4 * MAX_MPL_CHARS}")
        text = p.read_text(encoding="utf-8")
    except OSError as e:
        raise TipError(f"cannot read TIP file {str(p)!r}: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise TipError(f"TIP file {str(p)!r} is not UTF-8 text (byte {e.start})") from None
    return parse_tip(text, str(p))
