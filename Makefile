# The two commands: `make run` serves a demo store, `make test` runs the whole suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PORT ?= 8000
HOST ?= 127.0.0.1

.PHONY: run test lint format worker chat bench clean cluster

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

# `make run` turns the webhook on and sends the bot's replies to the `zapora chat` simulator.
# Each value can be overridden from the environment or the command line.
ZAPORA_WHATSAPP_APP_SECRET ?= demo-app-secret
ZAPORA_WHATSAPP_VERIFY_TOKEN ?= demo-verify-token
ZAPORA_WHATSAPP_TRANSPORT ?= cloud
# GRAPH_PORT is where `zapora chat` runs its Graph API stand-in.
GRAPH_PORT ?= 8001
ZAPORA_WHATSAPP_API_BASE_URL ?= http://127.0.0.1:$(GRAPH_PORT)
# Tracking and photo links sent by the server point at this address.
ZAPORA_PUBLIC_BASE_URL ?= http://$(HOST):$(PORT)
DEMO_ENV = ZAPORA_WHATSAPP_APP_SECRET='$(ZAPORA_WHATSAPP_APP_SECRET)' \
	ZAPORA_WHATSAPP_VERIFY_TOKEN='$(ZAPORA_WHATSAPP_VERIFY_TOKEN)' \
	ZAPORA_WHATSAPP_TRANSPORT='$(ZAPORA_WHATSAPP_TRANSPORT)' \
	ZAPORA_WHATSAPP_API_BASE_URL='$(ZAPORA_WHATSAPP_API_BASE_URL)' \
	ZAPORA_PUBLIC_BASE_URL='$(ZAPORA_PUBLIC_BASE_URL)'

run: $(VENV)/.installed
	$(BIN)/zapora migrate
	$(DEMO_ENV) $(BIN)/zapora seed-demo --url http://$(HOST):$(PORT)
	$(DEMO_ENV) $(BIN)/zapora serve --host $(HOST) --port $(PORT)

test: $(VENV)/.installed-dev
	$(BIN)/ruff format --check src tests
	$(BIN)/ruff check src tests
	$(BIN)/mypy
	$(BIN)/python -m pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff format --check src tests
	$(BIN)/ruff check src tests
	$(BIN)/mypy

format: $(VENV)/.installed-dev
	$(BIN)/ruff format src tests
	$(BIN)/ruff check --fix src tests

worker: $(VENV)/.installed
	$(BIN)/zapora worker

chat: $(VENV)/.installed
	$(BIN)/zapora chat --url http://$(HOST):$(PORT) --graph-port $(GRAPH_PORT)

# API replicas and workers behind nginx on 127.0.0.1:$(CLUSTER_PORT), on the local PostgreSQL
# and Redis, in the foreground until Ctrl+C (see docs/scaling.md).
CLUSTER_PORT ?= 8080
cluster: $(VENV)/.installed
	$(BIN)/python -m zapora.cluster --port $(CLUSTER_PORT)

# Limit probes, a reference peer and Zapora's own paths, measured on this machine with wrk
# and pgbench against the local PostgreSQL and Redis (see docs/benchmarks.md).
$(VENV)/.installed-bench: $(VENV)/.installed pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	touch $@

bench: $(VENV)/.installed-bench
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) zapora.db zapora.db-wal zapora.db-shm .pytest_cache .ruff_cache .mypy_cache
