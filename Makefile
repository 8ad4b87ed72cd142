# The two commands of the README: `make run` and `make test`. Both set themselves up.
# `make run` installs the runtime pins only (requirements.lock); `make test` adds the
# development tools (requirements-dev.lock) to the same .venv. Each set has its stamp file:
# `make test` after `make run` adds the tools, `make run` after `make test` reuses the venv.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PIP := $(BIN)/python -m pip --quiet --disable-pip-version-check
RUNTIME_STAMP := $(VENV)/.runtime-installed
# Named .installed (as before the split) so that `make .venv/.installed` still sets up everything.
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck unit bench clean lock chromium screenshots

$(RUNTIME_STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --upgrade pip
	$(PIP) install -r requirements.lock
	$(PIP) install --no-deps -e .
	@touch $(RUNTIME_STAMP)

$(STAMP): $(RUNTIME_STAMP) requirements-dev.lock
	$(PIP) install -r requirements-dev.lock
	@touch $(STAMP)

## Start the whole service (API + dispatcher) on SQLite under ./data, development mode.
## ./data is this checkout's, wherever make runs from (make -C); PROMPTHA_WEBHOOKS_DATA_DIR or
## PROMPTHA_WEBHOOKS_DATABASE_URL put it elsewhere (docs/operations.md, "The data directory").
run: $(RUNTIME_STAMP)
	@if [ -z "$$PROMPTHA_WEBHOOKS_DATABASE_URL" ]; then \
	  export PROMPTHA_WEBHOOKS_DATA_DIR="$${PROMPTHA_WEBHOOKS_DATA_DIR:-$(CURDIR)/data}"; \
	fi; \
	PROMPTHA_WEBHOOKS_MODE=$${PROMPTHA_WEBHOOKS_MODE:-development} exec $(BIN)/promptha-webhooks serve

## Lint, type-check and run every test (SQLite and PostgreSQL, and the dashboard in Chromium).
test: $(STAMP) chromium lint typecheck
	$(BIN)/pytest

## Debian's Chromium for the browser tests (Playwright drives it; no browser download).
CHROMIUM := /usr/bin/chromium
chromium:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  export DEBIAN_FRONTEND=noninteractive; \
	  APT="apt-get -o DPkg::Lock::Timeout=600"; \
	  $$APT install -y chromium || ($$APT update && $$APT install -y chromium); \
	else \
	  echo "Chromium is missing: run 'sudo apt-get install -y chromium' for the dashboard's browser tests (they skip without it; under CI=true they fail)."; \
	fi

## Screenshots of the dashboard with sample data, into docs/screenshots/.
screenshots: $(STAMP) chromium
	$(BIN)/python scripts/screenshots.py

lint: $(STAMP)
	$(BIN)/ruff check src tests $(wildcard bench)
	$(BIN)/ruff format --check src tests $(wildcard bench)

typecheck: $(STAMP)
	$(BIN)/mypy src/promptha_webhooks bench

unit: $(STAMP)
	$(BIN)/pytest tests/unit

bench: $(STAMP)
	$(BIN)/python -m bench

## Re-pin every dependency (after editing pyproject.toml). One resolution of everything (the
## runtime and the `dev` extra) fixes every version; the runtime alone, installed under those
## pins, gives requirements.lock; the rest is requirements-dev.lock (which includes it).
LOCK_DIR := /tmp/promptha-webhooks-lock
lock:
	rm -rf $(LOCK_DIR) && mkdir -p $(LOCK_DIR)
	$(PYTHON) -m venv $(LOCK_DIR)/all && $(PYTHON) -m venv $(LOCK_DIR)/runtime
	$(LOCK_DIR)/all/bin/pip install --quiet --upgrade pip
	$(LOCK_DIR)/all/bin/pip install --quiet -e '.[dev]'
	$(LOCK_DIR)/all/bin/pip freeze --exclude-editable | grep -v '^promptha-webhooks' > $(LOCK_DIR)/all.txt
	$(LOCK_DIR)/runtime/bin/pip install --quiet --upgrade pip
	$(LOCK_DIR)/runtime/bin/pip install --quiet -c $(LOCK_DIR)/all.txt -e .
	$(LOCK_DIR)/runtime/bin/pip freeze --exclude-editable | grep -v '^promptha-webhooks' > $(LOCK_DIR)/runtime.txt
	{ echo '# Runtime dependencies (what `make run` installs), pinned. Regenerate with `make lock`.'; \
	  cat $(LOCK_DIR)/runtime.txt; } > requirements.lock
	{ echo '# Development tools (what `make test` adds to the runtime pins), pinned. Regenerate with `make lock`.'; \
	  echo '-r requirements.lock'; \
	  grep -vxFf $(LOCK_DIR)/runtime.txt $(LOCK_DIR)/all.txt; } > requirements-dev.lock
	rm -rf $(LOCK_DIR)

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
