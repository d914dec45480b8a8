# fednids — the README's two commands are `make demo` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
# Wheels are cached outside the clone (torch alone is GBs): a fresh clone reinstalls from here.
WHEELS ?= $(HOME)/.cache/fednids/wheels
EXTRAS ?= edge,edge-train,hub,train,dev
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: help install system-deps lint typecheck unit integration test demo bench dashboard schemas clean servers-start servers-stop arm

help:
	@echo "make demo   - install what is needed, run the one-process demo (prints the URL)"
	@echo "make test   - install, start real Kafka/Mosquitto/PostgreSQL/Chromium, lint, type-check, all tests"
	@echo "make lint | typecheck | unit | integration | arm | bench | dashboard | clean"

system-deps:
	@bash scripts/system-deps.sh

$(VENV)/.installed: pyproject.toml requirements/lock.txt scripts/install-python.sh
	@bash scripts/install-python.sh "$(PYTHON)" "$(VENV)" "$(WHEELS)" "$(EXTRAS)"
	@touch $@

install: system-deps $(VENV)/.installed

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-logo

typecheck: $(VENV)/.installed
	$(VENV)/bin/mypy contracts edge_agent bridge hub models federated fednids demo provisioning

unit: $(VENV)/.installed
	$(PY) -m pytest -m "not integration" $(PYTEST_ARGS)

integration: install
	$(PY) -m pytest -m integration $(PYTEST_ARGS)

dashboard:
	@if [ -f dashboard/package.json ]; then bash scripts/build-dashboard.sh; fi

test: install lint typecheck dashboard
	FEDNIDS_STOP_SERVERS=1 $(PY) -m pytest $(PYTEST_ARGS)

demo: install dashboard
	$(VENV)/bin/fednids demo --port $(PORT)

# the agent on aarch64 under qemu (also part of `make test`); cache in ~/.cache/fednids/arm64
arm: install
	$(PY) -m pytest tests/integration/arm $(PYTEST_ARGS)

bench: install
	@bash scripts/bench.sh

schemas: $(VENV)/.installed
	PYTHON=$(PY) bash scripts/gen-dashboard-types.sh

servers-start: install
	$(PY) -m tests.harness.servers start all

servers-stop:
	$(PY) -m tests.harness.servers stop all

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .import_linter_cache build *.egg-info
