from html.parser import HTMLParser
from pathlib import Path


class _Links(HTMLParser):
    def __init__(self):
        super().__init__()
        self.hrefs, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and "href" in a:
            self.hrefs.append(a["href"])
        if "id" in a:
            self.ids.add(a["id"])


def _parse(path: Path) -> _Links:
    p = _Links()
    p.feed(path.read_text())
    return p


def test_html_index_and_every_link_resolves(peano_run):
    root = peano_run["dir"] / "html"
    index = root / "index.html"
    assert index.exists()
    seen, todo, followed = set(), [index], 0
    while todo:
        page = todo.pop()
        if page in seen:
            continue
        seen.add(page)
        links = _parse(page)
        for href in links.hrefs:
            target, _, anchor = href.partition("#")
            dest = page if not target else (page.parent / target)
            assert dest.exists(), f"{page.name} links to missing {href}"
            if anchor:
                assert anchor in _parse(dest).ids, f"{page.name}: no anchor {href}"
            followed += 1
            todo.append(dest)
    assert len(seen) == len(peano_run["doc"]["theorems"]) + 2  # index + axioms + one per theorem
    assert followed > 100


def test_each_step_shows_its_rule_and_links_premises(peano_run):
    doc = peano_run["doc"]
    law = next(t for t in doc["theorems"] if t["law"] == "add_comm")
    page = peano_run["dir"] / "html" / f"{law['id']}.html"
    links = _parse(page)
    for dep in law["deps"]:
        assert any(h.endswith(f"{dep}.html") or h.endswith(f"#{dep}") for h in links.hrefs)
    assert "by " in page.read_text()


def test_json_graph_ids_are_stable_and_edges_point_to_nodes(peano_run):
    from neuralbrain.reasoning.gl.prover import theorem_id
    from neuralbrain.reasoning.gl.terms import from_json

    doc = peano_run["doc"]
    nodes = {n["id"] for n in doc["graph"]["nodes"]}
    assert all(a in nodes and b in nodes for a, b in doc["graph"]["edges"])
    for t in doc["theorems"]:
        eq = t["equation"]
        assert t["id"] == theorem_id(from_json(eq["lhs"]), from_json(eq["rhs"]))
