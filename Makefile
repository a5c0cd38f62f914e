# One command each: `make demo` (set up + run the demo), `make test` (set up + run the tests).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo test lint bench

setup: $(VENV)/.installed

# compat/ is the `neptune` import-name shim (docs/compat.md); the tests run scripts through it.
$(VENV)/.installed: pyproject.toml compat/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]' -e ./compat
	touch $@

demo: setup
	$(BIN)/neptune-sync demo

test: setup
	$(BIN)/pytest -q

lint: setup
	$(BIN)/ruff check neptune_sync neptune_sync_store daemon compat tests bench

bench: setup
	$(BIN)/python bench/client_throughput.py
