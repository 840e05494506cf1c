# Every target that runs code first creates or refreshes .venv by itself: a fresh clone needs
# nothing but python3 (>= 3.11) and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PYTEST := $(BIN)/python -m pytest

.DEFAULT_GOAL := help
.PHONY: help venv test test-unit test-integration test-e2e lint contracts demo bench migrate seed run clean up down logs

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[dev]'
	@touch $@

venv: $(STAMP)  ## Create or refresh the virtualenv

test: $(STAMP)  ## Run every test tier (unit, integration, e2e)
	$(PYTEST) tests

test-unit: $(STAMP)  ## Pure logic, no I/O
	$(PYTEST) tests/unit

test-integration: $(STAMP)  ## Real SQLite, PostgreSQL, migrations, architecture checks
	$(PYTEST) tests/integration

test-e2e: $(STAMP)  ## Real processes over real sockets
	$(PYTEST) tests/e2e

lint: $(STAMP)  ## ruff, import-linter (module boundaries), mypy (messaging library, proxy, services)
	$(BIN)/ruff check .
	$(BIN)/lint-imports
	$(BIN)/mypy strangler_messaging strangler_proxy strangler_http extracted storefront strangler_contracts

contracts: $(STAMP)  ## Regenerate the consumer pacts, verify them against every backend, record for the gate
	STRANGLER_UPDATE_PACTS=1 $(PYTEST) -q $(wildcard tests/contracts/test_*consume*.py)
	$(BIN)/strangler db upgrade proxy
	$(BIN)/strangler contracts verify

migrate: $(STAMP)  ## Migrate every database to head
	$(BIN)/strangler db upgrade all

seed: migrate  ## Load demo data into the monolith
	$(BIN)/strangler seed

run: migrate  ## Run the monolith on :8010
	$(BIN)/strangler run monolith

demo: $(STAMP)  ## The main job: a guided run of the system
	$(BIN)/strangler demo

bench: $(STAMP)  ## Benchmarks (ratios to baselines measured in the same run)
	$(BIN)/python -m bench

up:  ## Build the image and start the whole stack in Docker (docs/docker.md; no virtualenv)
	docker compose up -d --build

down:  ## Stop the Docker stack (its data volumes stay; docs/docker.md says how to drop them)
	docker compose --profile broker down

logs:  ## Follow the Docker stack's logs
	docker compose logs -f --tail=100

clean:  ## Remove the virtualenv and local databases
	rm -rf $(VENV) var .pytest_cache .mypy_cache .ruff_cache
