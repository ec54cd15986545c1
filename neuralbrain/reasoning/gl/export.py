"""Exports of a proof run: the JSON proof document (a graph with stable ids) and HTML pages.

The JSON document is what the checker reads::

    {"format": "neuralbrain.gl.proofs/1",
     "theory": {"source": PATH, "sha256": HEX},
     "axioms": [{"id": NAME, "statement": MPL, "text": "a + 0 = a" | null}],
     "theorems": [{"id": "thm_<hash>", "name", "law", "statement", "equation", "text",
                   "sorts", "deps", "proof"}],            # in proof order
     "graph": {"nodes": [{"id", "kind", "name"}], "edges": [[premise_id, theorem_id]]},
     "unproved": [{"name", "reason"}]}

Theorem ids hash the canonical equation, so the same theorem has the same id in every run.
The HTML export writes ``index.html`` (every theorem, linked), ``axioms.html`` (one anchor
per axiom) and one page per theorem whose proof steps each show the rule used, linked to
the page (or anchor) of that premise. Files are written atomically.
"""

from __future__ import annotations

import html
import json
from pathlib import Path

from neuralbrain.atomic import atomic_write_text
from neuralbrain.errors import DataError
from neuralbrain.reasoning.gl.equations import NotEquational, statement_equation
from neuralbrain.reasoning.gl.mpl import Theory
from neuralbrain.reasoning.gl.prover import ProofRun
from neuralbrain.reasoning.gl.terms import fmt, fmt_eq, from_json

FORMAT = "neuralbrain.gl.proofs/1"


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temp file in the same folder + ``os.replace``)."""
    atomic_write_text(path, text)


def proof_document(theory: Theory, theory_sha256: str, run: ProofRun) -> dict:
    axioms = []
    for st in theory.of_kind("axiom"):
        try:
            eq = statement_equation(theory, st.formula)
            text = fmt_eq(eq.lhs, eq.rhs)
        except NotEquational:
            text = None
        axioms.append({"id": st.name, "statement": st.text, "text": text})
    theorems = [t.as_json() for t in run.theorems]
    nodes = [{"id": a["id"], "kind": "axiom", "name": a["id"]} for a in axioms]
    nodes += [{"id": t["id"], "kind": "theorem", "name": t["name"]} for t in theorems]
    edges = [[d, t["id"]] for t in theorems for d in t["deps"]]
    return {
        "format": FORMAT,
        "theory": {"source": theory.source, "sha256": theory_sha256},
        "axioms": axioms,
        "theorems": theorems,
        "graph": {"nodes": nodes, "edges": edges},
        "unproved": run.unproved,
    }


def write_json(doc: dict, path: str | Path) -> Path:
    p = Path(path)
    write_atomic(p, json.dumps(doc, indent=1, sort_keys=False))
    return p


# -- HTML -----------------------------------------------------------------------------------

_CSS = (
    "body{font-family:sans-serif;max-width:60em;margin:2em auto;line-height:1.4}"
    "pre{background:#f4f4f4;padding:.5em;overflow-x:auto}"
    "td,th{padding:.2em .6em;text-align:left;vertical-align:top}"
    ".term{font-family:monospace}.rule{color:#555}"
)


def _page(title: str, body: str) -> str:
    return (
        f"<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>{html.escape(title)}"
        f"</title><style>{_CSS}</style></head><body>\n{body}\n</body></html>\n"
    )


def _page_name(tid: str) -> str:
    return f"{tid}.html"


def _rule_link(rule: str, axioms: set[str], names: dict[str, str]) -> str:
    if rule == "IH":
        return "<a href='#hypothesis'>IH (induction hypothesis)</a>"
    if rule in axioms:
        return f"<a href='axioms.html#{html.escape(rule)}'>{html.escape(rule)}</a>"
    label = names.get(rule, rule)
    return f"<a href='{_page_name(rule)}'>{html.escape(label)}</a>"


def _chain_html(title: str, chain: dict, axioms: set[str], names: dict[str, str]) -> str:
    rows = [f"<tr><td class='term'>{html.escape(fmt(from_json(chain['start'])))}</td>"
            f"<td class='rule'>start</td></tr>"]
    for st in chain["steps"]:
        sub = ", ".join(f"{k} := {fmt(from_json(v))}" for k, v in st["subst"].items())
        rows.append(
            f"<tr><td class='term'>= {html.escape(fmt(from_json(st['term'])))}</td>"
            f"<td class='rule'>by {_rule_link(st['rule'], axioms, names)} ({st['dir']}) "
            f"at {st['pos']}{html.escape(' with ' + sub if sub else '')}</td></tr>"
        )
    return f"<h4>{html.escape(title)}</h4><table>{''.join(rows)}</table>"


def _rewrite_html(proof: dict, axioms: set[str], names: dict[str, str]) -> str:
    return _chain_html("left side", proof["lhs"], axioms, names) + _chain_html(
        "right side", proof["rhs"], axioms, names
    )


def write_html(doc: dict, out_dir: str | Path) -> Path:
    """Write the HTML pages of ``doc`` into ``out_dir``; returns the index path."""
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise DataError(f"--html {str(out)!r} exists and is not a directory")
    axioms = {a["id"] for a in doc["axioms"]}
    names = {t["id"]: t["name"] for t in doc["theorems"]}
    used_by: dict[str, list[str]] = {}
    for t in doc["theorems"]:
        for d in t["deps"]:
            used_by.setdefault(d, []).append(t["id"])

    ax_rows = "".join(
        f"<h3 id='{html.escape(a['id'])}'>{html.escape(a['id'])}</h3>"
        f"<pre>{html.escape(a['statement'])}</pre>"
        + (f"<p class='term'>{html.escape(a['text'])}</p>" if a["text"] else "")
        for a in doc["axioms"]
    )
    write_atomic(out / "axioms.html",
                 _page("Axioms", f"<p><a href='index.html'>index</a></p><h1>Axioms</h1>{ax_rows}"))

    rows = []
    for t in doc["theorems"]:
        law = f" <b>[{html.escape(t['law'])}]</b>" if t.get("law") else ""
        rows.append(
            f"<tr><td><a href='{_page_name(t['id'])}'>{html.escape(t['name'])}</a>{law}</td>"
            f"<td class='term'>{html.escape(t['text'])}</td>"
            f"<td>{html.escape(t['proof']['method'])}</td></tr>"
        )
        p = t["proof"]
        if p["method"] == "induction":
            proof_html = (
                f"<p>Induction on <b>{html.escape(p['var'])}</b> (sort {html.escape(p['sort'])})"
                f", fresh variable {html.escape(p['fresh'])}.</p>"
                f"<h3 id='hypothesis'>Induction hypothesis</h3><p class='term'>"
                f"{html.escape(fmt_eq(from_json(p['hypothesis']['lhs']), from_json(p['hypothesis']['rhs'])))}"  # noqa: E501
                f"</p><h3>Base case</h3>{_rewrite_html(p['base'], axioms, names)}"
                f"<h3>Step case</h3>{_rewrite_html(p['step'], axioms, names)}"
            )
        else:
            proof_html = f"<h3>Both sides rewrite to one term</h3>{_rewrite_html(p, axioms, names)}"
        deps = ", ".join(_rule_link(d, axioms, names) for d in t["deps"]) or "none"
        users = ", ".join(_rule_link(u, axioms, names) for u in used_by.get(t["id"], [])) or "none"
        body = (
            f"<p><a href='index.html'>index</a> | <a href='axioms.html'>axioms</a></p>"
            f"<h1>{html.escape(t['name'])}{law}</h1>"
            f"<p class='term'>{html.escape(t['text'])}</p><pre>{html.escape(t['statement'])}</pre>"
            f"<p>id <code>{html.escape(t['id'])}</code>; rests on: {deps}; used by: {users}</p>"
            f"<h2>Proof</h2>{proof_html}"
        )
        write_atomic(out / _page_name(t["id"]), _page(t["name"], body))

    unproved = "".join(
        f"<li>{html.escape(u.get('name', '?'))}: {html.escape(u.get('reason', ''))}</li>"
        for u in doc.get("unproved", [])
    )
    index = (
        f"<h1>Theorems of {html.escape(doc['theory']['source'])}</h1>"
        f"<p><a href='axioms.html'>axioms</a> | theory sha256 "
        f"<code>{html.escape(doc['theory']['sha256'][:16])}</code></p>"
        f"<table><tr><th>theorem</th><th>statement</th><th>proof</th></tr>{''.join(rows)}"
        f"</table>" + (f"<h2>Not proved</h2><ul>{unproved}</ul>" if unproved else "")
    )
    write_atomic(out / "index.html", _page("Theorems", index))
    return out / "index.html"
