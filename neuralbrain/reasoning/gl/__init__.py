"""The Generative Logic (GL) deductive reasoner: MPL theories, Logic Blocks, checked proofs.

After "Generative Logic: A New Computer Architecture for Deterministic Reasoning and Knowledge
Generation" (Sergeev, 2025), written from the paper's description only:

- ``mpl``: the Mathematical Programming Language, typed first-order definitions as prefix
  S-expressions (errors carry ``file:line:col``); theories ship in ``theories/``
  (``peano.mpl``, ``digitpick.mpl``).
- ``equations``: relational statements (``(+ a b c)``: a + b = c) <-> equations between
  functional terms, the prover's internal encoding (why: see that module).
- ``blocks``: the grid of Logic Blocks (one per equation direction) exchanging term messages;
  ordered rewriting under a lexicographic path order; counters of messages, unifications
  and critical-path cycles, booked as the actions ``message``, ``unify`` and ``block_cycle``
  of a ``neuralbrain.hardware`` backend (``logic_grid`` or ``cpu``).
- ``models``: the counterexample filter, a finite prefix of the standard model built from the
  theory's own definitions and induction declaration.
- ``prover``: discovery (enumerate, canonicalise, filter, prove by rewriting and induction)
  and the targets mode; every proof is JSON with per-step provenance.
- ``checker``: the independent kernel that re-reads the theory and replays every step.
- ``export``: the JSON proof graph (stable ids) and the HTML pages.
- ``agent``: facts, Horn rules, queries with proof trees, ``feasible`` for DigitPick.
- ``run`` / ``commands``: ``neuralbrain prove THEORY.mpl ...``.
"""
