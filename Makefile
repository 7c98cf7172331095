# Each target bootstraps .venv itself, so a clean clone needs only Python 3.11+.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
CORPUS ?= ../shared/corpus/bbc
CONFIG ?= config/wirewatch.toml

.PHONY: run test lint typecheck bench bench-tools faults clean

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

# The latency benchmark compares against an inotifywait | grep | curl pipeline;
# inotify-tools comes from Debian's packages when apt-get can install it.
bench-tools:
	@command -v inotifywait >/dev/null || { command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ] \
		&& (apt-get update -qq && apt-get install -y -qq inotify-tools curl) >/dev/null 2>&1 \
		|| echo "inotify-tools not installed: the shell baseline will be skipped"; }

bench: $(BIN)/.installed-dev bench-tools
	$(BIN)/python -m bench --corpus $(CORPUS)

faults: $(BIN)/.installed-dev
	$(BIN)/python -m bench.faults

clean:
	rm -rf $(VENV) var inbox processed quarantine .pytest_cache .mypy_cache .ruff_cache
