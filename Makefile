# Each target bootstraps .venv itself, so a clean clone needs only Python 3.11+.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CORPUS ?= ../shared/corpus/bbc
CONFIG ?= config/wirewatch.toml

.PHONY: run test lint typecheck bench faults clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	touch $@

$(BIN)/.installed-dev: $(BIN)/.installed
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

run: $(BIN)/.installed
	$(BIN)/wirewatch --config $(CONFIG) run

lint: $(BIN)/.installed-dev
	$(BIN)/ruff check daemon tests bench
	$(BIN)/ruff format --check daemon tests bench
	$(BIN)/mypy

typecheck: lint

test: lint
	$(BIN)/pytest -q

bench: $(BIN)/.installed-dev
	$(BIN)/python -m bench --corpus $(CORPUS)

faults: $(BIN)/.installed-dev
	$(BIN)/python -m bench.faults

clean:
	rm -rf $(VENV) var inbox processed quarantine .pytest_cache .mypy_cache .ruff_cache
