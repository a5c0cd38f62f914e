# One command each: `make demo` (set up + run the demo), `make test` (set up + run the tests),
# `make torture` (the long form of the torture suite, tests/torture: tens of minutes).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo test torture lint bench

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

demo: setup
	$(BIN)/neptune-sync demo

test: setup
	$(BIN)/pytest -q

# Counts of the long form; each can be overridden (`make torture TORTURE_CLIENT_KILLS=1000`).
torture: setup
	TORTURE_LONG=1 $(BIN)/pytest -q -s -m torture tests/torture

lint: setup
	$(BIN)/ruff check neptune_sync neptune_sync_store daemon tests bench

bench: setup
	$(BIN)/python bench/client_throughput.py
