# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin

.PHONY: run test lint bench sandbox clean

$(BIN)/gigdesk: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(BIN)/gigdesk

run: $(BIN)/gigdesk
	$(BIN)/gigdesk serve

test: lint
	$(BIN)/python -m pytest -n 2 tests

# The gates, fastest first (a few seconds together): style, types, the import contracts.
lint: $(BIN)/gigdesk
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(BIN)/gigdesk
	$(BIN)/python benchmarks/run_all.py

sandbox: $(BIN)/gigdesk
	$(BIN)/gigdesk sandbox

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache
