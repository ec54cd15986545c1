"""One discovery run from the Peano theory, shared by the GL tests (it takes ~10 s)."""

from __future__ import annotations

import json

import pytest

from neuralbrain.reasoning.gl.mpl import theories_dir

PEANO = theories_dir() / "peano.mpl"


@pytest.fixture(scope="session")
def peano_run(tmp_path_factory):
    from neuralbrain.reasoning.gl.run import prove_file

    out_dir = tmp_path_factory.mktemp("gl")
    summary = prove_file(PEANO, html_dir=out_dir / "html", json_path=out_dir / "proofs.json")
    doc = json.loads((out_dir / "proofs.json").read_text())
    return {"summary": summary, "doc": doc, "dir": out_dir}
