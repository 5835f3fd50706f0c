# trialdesk: two commands on a fresh Debian machine.
#   make run   - set everything up, start the product on SQLite with both protocols loaded and the
#                demo database (synthetic data, its own file); without it: make run ARGS=--no-demo
#                or TRIALDESK_DEMO=0 make run
#   make test  - set everything up, lint, type-check and run the whole test suite
PYTHON ?= python3
# Debian packages the test suite needs: a real PostgreSQL server for the database tests, Chromium for
# the browser tests (driven by Playwright; no browser download) and CJK fonts for the Chinese pages.
SYSTEM_PACKAGES ?= postgresql chromium fonts-noto-cjk
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test setup lint typecheck pytest clean system-deps browser-deps bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

system-deps:
	bash scripts/install-system-deps.sh $(SYSTEM_PACKAGES)

# The demo unless TRIALDESK_DEMO=0 (or ARGS=--no-demo, which comes last and wins); ARGS=--reset-demo
# rebuilds the demo database.
DEMO_FLAG := $(if $(filter 0 false no off,$(TRIALDESK_DEMO)),--no-demo,--demo)

run: setup
	$(BIN)/trialdesk serve --host 127.0.0.1 --port 8000 $(DEMO_FLAG) $(ARGS)

lint: setup
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: setup
	$(BIN)/mypy

# axe-core (accessibility checks of every page) from the npm registry, pinned by package-lock.json.
BROWSER_TOOLS := tests/browser/node_modules/.package-lock.json
$(BROWSER_TOOLS): tests/browser/package.json tests/browser/package-lock.json
	bash scripts/install-browser-tools.sh tests/browser

browser-deps: $(BROWSER_TOOLS)

# One pytest worker per core (pytest-xdist); each worker has its own PostgreSQL server, demo database and
# temporary folders, and a test file stays on one worker (--dist loadfile: module-scoped servers are
# started once). PYTEST_WORKERS=0 runs in one process; PYTEST_ARGS adds options (e.g. -k, -x).
PYTEST_WORKERS ?= auto
pytest: setup system-deps browser-deps
	$(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist loadfile --durations=25 $(PYTEST_ARGS)

test: lint typecheck pytest

# Every benchmark, one after the other, each side by side with its named peer (R and rpact from
# Debian's packages through benchmarks/setup.sh); about 20 minutes. Figures: benchmarks/README.md.
BENCHMARKS := simulate_vs_rpact survival_vs_r api_load lab_import checks_run prescreen cli_startup
bench: setup system-deps
	bash benchmarks/setup.sh
	@failed=""; for name in $(BENCHMARKS); do echo "== benchmarks/$$name.py"; \
	  $(BIN)/python benchmarks/$$name.py || failed="$$failed $$name"; done; \
	  if [ -n "$$failed" ]; then echo "benchmarks that failed (numbers disagreeing or an error):$$failed"; exit 1; fi

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache tests/browser/node_modules test-output
