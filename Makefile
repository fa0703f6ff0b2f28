# Ratify: the two commands of the README, and the rest.
#   make run    set up, then run the service on its embedded defaults (dev server + SQLite):
#               the API and pages on PORT (8000), the Temporal dev server on PORT-767 (7233)
#               and its Web UI on PORT+233 (8233); `make run PORT=8001` beside another one
#               (7234, 8234; or set TEMPORAL_PORT, TEMPORAL_UI_PORT), its data in ./data-8001
#               (DATA_DIR; ./data on port 8000)
#   make test   set up, then run the whole test suite (PostgreSQL included)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8000
TEMPORAL_PORT    ?= $(shell expr $(PORT) - 767)
TEMPORAL_UI_PORT ?= $(shell expr $(PORT) + 233)
DATA_DIR ?= $(or $(RATIFY_DATA_DIR),$(if $(filter 8000,$(PORT)),data,data-$(PORT)))

.PHONY: setup run test lint bench postgres browser clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	@touch $(STAMP)

run: setup
	RATIFY_DATA_DIR=$(DATA_DIR) RATIFY_DEV_SERVER_PORT=$(TEMPORAL_PORT) \
		RATIFY_DEV_SERVER_UI_PORT=$(TEMPORAL_UI_PORT) $(BIN)/ratify serve --port $(PORT)

postgres:
	@bash .ci/ensure-postgres

browser:
	@bash .ci/ensure-chromium

test: setup postgres browser
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports

bench: setup postgres
	$(BIN)/python bench/run_all.py

clean:
	rm -rf $(VENV) data data-* .pytest_cache .mypy_cache .ruff_cache .hypothesis
