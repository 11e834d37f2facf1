# Two commands set everything up on a fresh machine: `make run` and `make test`.
# `make run` without a .env (and no SLACK_BOT_TOKEN) starts the offline demo; with one, the bot.
# Every CLI command has a target (make check, make init, ...); ARGS="..." passes options.
PYTHON   ?= python3
VENV     := .venv
BIN      ?= $(VENV)/bin
ENV_FILE ?= .env
ARGS     ?=

.PHONY: run demo init check poll digest sandbox wonolo-sandbox screenshots test lint browser postgres bench clean

$(BIN)/gigdesk: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(BIN)/gigdesk

run: $(BIN)/gigdesk
	@if [ -f "$(ENV_FILE)" ] || [ -n "$$SLACK_BOT_TOKEN" ]; then \
		$(BIN)/gigdesk serve $(ARGS); \
	else \
		echo "No $(ENV_FILE) yet: starting the offline demo."; \
		$(BIN)/gigdesk demo $(ARGS); \
	fi

demo: $(BIN)/gigdesk
	$(BIN)/gigdesk demo $(ARGS)

init check poll digest wonolo-sandbox: $(BIN)/gigdesk
	$(BIN)/gigdesk $@ $(ARGS)

# README screenshots, taken from the demo with the system Chromium.
screenshots: $(BIN)/gigdesk browser
	$(BIN)/python -m sandbox.demo.screenshots $(ARGS)

# Lint, then the unit tier (pure code, seconds, stops at the first failure), then the rest over real HTTP.
test: lint browser postgres
	$(BIN)/python -m pytest -m unit -x tests
	$(BIN)/python -m pytest -m "not unit" -n 2 tests

# Chromium for the demo's browser tests (Debian's package; Playwright's own download is not
# used). Installed when root with apt-get; otherwise those tests are skipped, loudly (CI=true: they fail).
browser:
	@if command -v chromium >/dev/null 2>&1 || [ -x /usr/bin/chromium ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing Chromium for the browser tests (apt-get install chromium)..."; \
		{ apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq chromium >/dev/null 2>&1; }; } \
			|| echo "*** Could not install Chromium: the demo browser tests will be SKIPPED (under CI=true they fail) ***"; \
	else \
		echo "*** No Chromium, and not root with apt-get: the demo browser tests will be SKIPPED (under CI=true they fail). Install: sudo apt-get install chromium ***"; \
	fi

# PostgreSQL for the storage and replica tests (Debian's package; the tests start their own
# throw-away server on a free loopback port). Installed when root with apt-get; otherwise those
# tests are skipped, loudly (CI=true: they fail).
postgres:
	@if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing PostgreSQL for the database tests (apt-get install postgresql)..."; \
		{ DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null 2>&1 || { apt-get update -qq >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null 2>&1; }; } \
			|| echo "*** Could not install PostgreSQL: the PostgreSQL tests will be SKIPPED (under CI=true they fail) ***"; \
	else \
		echo "*** No PostgreSQL, and not root with apt-get: the PostgreSQL tests will be SKIPPED (under CI=true they fail). Install: sudo apt-get install postgresql ***"; \
	fi

# The gates, fastest first (a few seconds together): style, types, the import contracts.
lint: $(BIN)/gigdesk
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(BIN)/gigdesk
	$(BIN)/python benchmarks/run_all.py

sandbox: $(BIN)/gigdesk
	$(BIN)/gigdesk sandbox $(ARGS)

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
