# One command each: `make demo` (set up + run the demo), `make test` (set up + run the tests),
# `make torture` (the long form of the torture suite, tests/torture: tens of minutes).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo test torture lint bench test-integrations

setup: $(VENV)/.installed

# compat/ is the `neptune` import-name shim (docs/compat.md); the tests run scripts through it.
# setup.py builds the C hot path (neptune_sync/oplog/_hotframe.c) in place.
$(VENV)/.installed: pyproject.toml setup.py neptune_sync/oplog/_hotframe.c compat/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]' -e ./compat
	touch $@

demo: setup
	$(BIN)/neptune-sync demo

test: setup
	$(BIN)/pytest -q

# Counts of the long form; each can be overridden (`make torture TORTURE_CLIENT_KILLS=1000`).
torture: setup
	TORTURE_LONG=1 $(BIN)/pytest -q -s -m torture tests/torture

lint: setup
	$(BIN)/ruff check neptune_sync neptune_sync_store daemon compat tests bench

bench: setup
	$(BIN)/python bench/client_throughput.py

# Framework integrations against the real frameworks, the torch-based ones included. torch==2.13.0
# is the CPU build on this machine's disk (a plain `torch` would pull a CUDA build); the old
# neptune-* integration packages go in with --no-deps, as users install them over the compat package.
LEGACY_INTEGRATIONS := neptune-optuna==1.4.1 neptune-lightgbm==2.0.0 neptune-sklearn==2.1.4 neptune-tensorflow-keras==2.2.2

$(VENV)/.integrations: $(VENV)/.installed pyproject.toml
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[test,integrations]'
	$(BIN)/pip install --quiet --no-deps $(LEGACY_INTEGRATIONS)
	touch $@

test-integrations: $(VENV)/.integrations
	NEPTUNE_SYNC_HEAVY_TESTS=1 HF_HUB_OFFLINE=1 $(BIN)/pytest -q -rs tests/integrations
