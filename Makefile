# The two commands of the README: `make run` and `make test`. Both set themselves up.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck unit bench clean lock chromium screenshots

$(STAMP): requirements.lock pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is required")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e .
	@touch $(STAMP)

## Start the whole service (API + dispatcher) on SQLite under ./data, development mode.
run: $(STAMP)
	PROMPTHA_WEBHOOKS_MODE=$${PROMPTHA_WEBHOOKS_MODE:-development} $(BIN)/promptha-webhooks serve

## Lint, type-check and run every test (SQLite and PostgreSQL, and the dashboard in Chromium).
test: $(STAMP) chromium lint typecheck
	$(BIN)/pytest

## Debian's Chromium for the browser tests (Playwright drives it; no browser download).
CHROMIUM := /usr/bin/chromium
chromium:
	@if [ -x $(CHROMIUM) ]; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y chromium || (apt-get update && apt-get install -y chromium); \
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
	$(BIN)/mypy src/promptha_webhooks

unit: $(STAMP)
	$(BIN)/pytest tests/unit

bench: $(STAMP)
	$(BIN)/python -m bench

## Re-pin every dependency (after editing pyproject.toml).
lock:
	rm -rf /tmp/pw-lock && $(PYTHON) -m venv /tmp/pw-lock
	/tmp/pw-lock/bin/pip install --quiet --upgrade pip
	/tmp/pw-lock/bin/pip install --quiet -e '.[dev]'
	/tmp/pw-lock/bin/pip freeze --exclude-editable | grep -v '^promptha-webhooks' > requirements.lock

clean:
	rm -rf $(VENV) data .pytest_cache .mypy_cache .ruff_cache
