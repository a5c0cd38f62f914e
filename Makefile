# One command each: `make demo` (set up + run the demo), `make test` (set up + run the tests).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint bench

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

lint: setup
	$(BIN)/ruff check neptune_sync neptune_sync_store daemon tests bench

bench: setup
	$(BIN)/python bench/client_throughput.py
