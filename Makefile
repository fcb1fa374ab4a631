# Two commands do all the set-up on a fresh machine:
#   make run   builds the environment if it is missing, then serves the UI on http://127.0.0.1:8765
#   make test  builds the environment if it is missing, then lints and runs every test
#              (the wheel test, tests/test_wheel.py, needs PyPI and the npm registry)
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

# The first Python >= 3.12 found: on PATH, or in pyenv's versions folder.
PYTHON_CANDIDATES := python3.13 python3.12 python3 python $(wildcard $(HOME)/.pyenv/versions/3.1[2-9]*/bin/python3)
PYTHON ?= $(shell for p in $(PYTHON_CANDIDATES); do \
	if "$$p" -c 'import sys; sys.exit(sys.version_info < (3, 12))' >/dev/null 2>&1; then command -v "$$p"; break; fi; \
	done)

.PHONY: run test lint format bench baseline docs env clean mutate

env: $(STAMP)

$(STAMP): pyproject.toml
	@if [ -z "$(PYTHON)" ]; then echo "error: no Python >= 3.12 found (tried: $(PYTHON_CANDIDATES))" >&2; exit 1; fi
	@echo "Building $(VENV) with $(PYTHON)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip uninstall --quiet --yes aisim 2>/dev/null || true  # the old distribution name, if there
	$(BIN)/python -m pip install --quiet -e ".[test,ui]"
	$(BIN)/python -m viz.assets  # the UI's front-end files, from the npm registry (npm itself not needed)
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/aisim ui --host 127.0.0.1 --port 8765

test: $(STAMP) lint
	$(BIN)/python -m pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

bench: $(STAMP)
	$(BIN)/python bench/bench_core.py

baseline: $(STAMP)
	$(BIN)/python tests/regenerate_baseline.py

docs: $(STAMP)
	$(BIN)/python docs/update_docs.py

# Mutation testing (mutmut), on demand: MUTANTS='sim.claims.*' limits it to one module (the whole
# set takes hours on 2 cores). Survivors and why each is equivalent: docs/MUTATION.md.
MUTANTS ?= *
mutate: $(STAMP)
	$(BIN)/python -c "import mutmut" 2>/dev/null || $(BIN)/python -m pip install --quiet -e ".[mutate]"
	$(BIN)/mutmut run --max-children 2 "$(MUTANTS)"
	$(BIN)/mutmut results

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .hypothesis mutants
