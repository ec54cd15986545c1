"""One call from a theory file to checked proofs: what ``neuralbrain prove`` runs.

``prove_file`` parses the theory, runs discovery (or the targets mode), writes the JSON proof
document and the HTML pages if asked, hands the document to the independent checker, and
returns the summary the CLI prints::

    {"proved": [names], "laws_found": [...], "checked": bool, "seconds": s, "peak_mb": MB,
     "unproved": [...], "budget_exhausted": bool, "rejected": [...], "energy_j": J, ...}

``checked`` is true only when the checker accepted every theorem of the document (and there
is at least one). A budget that runs out is reported as ``budget_exhausted`` with the
targets listed under ``unproved`` ("not proved within budget"); it is never an error and
never a "proved".
"""

from __future__ import annotations

import hashlib
import resource
import time
from pathlib import Path

from neuralbrain.energy import Ledger
from neuralbrain.errors import DataError
from neuralbrain.hardware import make_backend
from neuralbrain.reasoning.gl.checker import check_document
from neuralbrain.reasoning.gl.export import proof_document, write_html, write_json
from neuralbrain.reasoning.gl.laws import laws_found
from neuralbrain.reasoning.gl.mpl import MAX_MPL_CHARS, parse_theory
from neuralbrain.reasoning.gl.prover import Prover, ProverConfig


def _read(path: str | Path, what: str) -> str:
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > 4 * MAX_MPL_CHARS:  # refused before reading (UTF-8: <= 4 bytes a char)
            raise DataError(f"{what} {str(p)!r} is {size} bytes, expected at most "
                            f"{4 * MAX_MPL_CHARS}")
        return p.read_text(encoding="utf-8")
    except OSError as e:
        raise DataError(f"cannot read {what} {str(p)!r}: {e.strerror}") from None
    except UnicodeDecodeError as e:
        raise DataError(f"{what} {str(p)!r} is not UTF-8 text (byte {e.start})") from None


def peak_mb() -> float:
    """Peak resident memory of this process so far (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def prove_file(
    theory_path: str | Path,
    targets_path: str | Path | None = None,
    html_dir: str | Path | None = None,
    json_path: str | Path | None = None,
    config: ProverConfig | None = None,
    backend: str = "logic_grid",
) -> dict:
    """Discover (or prove the targets of ``targets_path``), export, check; the summary dict."""
    t0 = time.perf_counter()
    text = _read(theory_path, "MPL theory")
    theory = parse_theory(text, str(theory_path))
    targets = None
    if targets_path is not None:
        ttext = _read(targets_path, "targets file")
        extended = parse_theory(ttext, str(targets_path), base=theory)
        new = extended.statements[len(theory.statements):]
        if not new or any(s.kind != "theorem" for s in new):
            raise DataError(
                f"targets file {str(targets_path)!r}: expected one or more (theorem NAME FORMULA)"
                f" forms and nothing else, got {[s.kind for s in new] or 'none'}"
            )
        targets = [(s.name, s.formula) for s in new]
    ledger = Ledger()
    be = make_backend(backend)
    prover = Prover(theory, config or ProverConfig(), be, ledger)
    run = prover.discover() if targets is None else prover.prove_targets(targets)
    sha = hashlib.sha256(text.encode()).hexdigest()
    doc = proof_document(theory, sha, run)
    if json_path is not None:
        write_json(doc, json_path)
    if html_dir is not None:
        write_html(doc, html_dir)
    report = check_document(doc, text)
    return {
        "proved": [t.name for t in run.theorems],
        "laws_found": laws_found([(t.lhs, t.rhs) for t in run.theorems]),
        "checked": report.ok,
        "seconds": round(time.perf_counter() - t0, 3),
        "peak_mb": round(peak_mb(), 1),
        "unproved": run.unproved,
        "budget_exhausted": run.budget_exhausted,
        "exhausted_by": run.exhausted_by,  # "time", "rewrites" or "memory" (or None)
        "rejected": report.rejected,
        "candidates": run.candidates,
        "attempts": run.attempts,
        "grid": run.stats,
        "backend": be.name,
        "energy_j": ledger.total.energy_j,
        "latency_s": ledger.total.latency_s,
    }
