# trialdesk: two commands on a fresh Debian machine.
#   make run   - set everything up, start the product on SQLite with both protocols loaded
#   make test  - set everything up, lint, type-check and run the whole test suite
PYTHON ?= python3
# Debian packages the test suite needs (a real PostgreSQL server for the database tests).
SYSTEM_PACKAGES ?= postgresql
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test setup lint typecheck pytest clean system-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

system-deps:
	bash scripts/install-system-deps.sh $(SYSTEM_PACKAGES)

run: setup
	$(BIN)/trialdesk serve --host 127.0.0.1 --port 8000

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: setup
	$(BIN)/mypy

pytest: setup system-deps
	$(BIN)/python -m pytest

test: lint typecheck pytest

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
