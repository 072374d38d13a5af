# coverbase-mock: every target sets up what it needs by itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 4010

.PHONY: help mock test lint typecheck test-reliability contract docs lint-spec spec-diff bench clean

help:
	@echo "make mock   - serve the mock on http://$(HOST):$(PORT)"
	@echo "make test   - lint, type-check and run the test suite"
	@echo "make lint   - ruff and mypy (strict)"

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

mock: $(STAMP)
	$(BIN)/coverbase-mock --host $(HOST) --port $(PORT)

lint: $(STAMP)
	$(BIN)/ruff check mock_server contract_tests tests
	$(BIN)/ruff format --check mock_server contract_tests tests
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest -m "not slow" -q

test-reliability: $(STAMP)
	$(BIN)/python -m pytest -m slow -q

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
