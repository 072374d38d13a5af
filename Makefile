# coverbase-mock: every target sets up what it needs by itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 4010
PY_DIRS := $(wildcard mock_server contract_tests spec_tools bench tools tests examples)
BASE_URL ?= http://127.0.0.1:4010
API_KEY ?= ak_live_xxx
BASE ?= origin/main
# Parallel test processes (pytest-xdist); CI machines have 2 cores.
TEST_WORKERS ?= 2

.PHONY: help mock mock-replicas bench-replicas test lint typecheck test-reliability contract docs lint-spec spec-diff bench clean

help:
	@echo "make mock   - serve the mock on http://$(HOST):$(PORT)"
	@echo "make mock-replicas - a local PostgreSQL and $(REPLICAS) replicas sharing it, from port $(PORT)"
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
	$(BIN)/ruff check $(PY_DIRS)
	$(BIN)/ruff format --check $(PY_DIRS)
	$(BIN)/mypy
	$(BIN)/mypy examples

test: lint lint-spec
	$(BIN)/python -m pytest -m "not slow" -q -n $(TEST_WORKERS) --durations=15

contract: $(STAMP)
	$(BIN)/coverbase-contract --base-url $(BASE_URL) --api-key $(API_KEY) $(CONTRACT_ARGS)

docs: $(STAMP)
	$(BIN)/python -m spec_tools.docs

# Our rules, then Spectral and Redocly (installed from npm into spec_tools/npm/node_modules on first use).
lint-spec: $(STAMP)
	$(BIN)/python -m spec_tools.lint --npm-linters openapi/coverbase.yaml openapi/mock-control.yaml

spec-diff: $(STAMP)
	$(BIN)/python -m spec_tools.diff --base $(BASE)

bench: $(STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

test-reliability: $(STAMP)
	$(BIN)/python -m pytest -m slow -q

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis

# A throwaway local PostgreSQL and REPLICAS mock replicas sharing it, on ports PORT, PORT+1, ...; Ctrl-C stops all.
REPLICAS ?= 2
mock-replicas: $(STAMP)
	$(BIN)/python -m tools.replicas --count $(REPLICAS) --port $(PORT)

# One replica on SQLite vs two replicas on PostgreSQL (a local throwaway cluster), ratios in one run.
bench-replicas: $(STAMP)
	$(BIN)/python -m bench.replicas $(BENCH_ARGS)
