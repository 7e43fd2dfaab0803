# Osler's developer entry points; `make help` lists them.
#
# The virtualenv is (re)installed only when pyproject.toml is newer than its stamp file, so running
# `make up` or `make test` again is cheap.

SHELL := /bin/bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

VENV ?= .venv
PY := $(VENV)/bin/python
# The interpreter the virtualenv is made from: python3.11 when there is one, else python3 (checked).
PYTHON ?= $(or $(shell command -v python3.11 2>/dev/null),$(shell command -v python3 2>/dev/null),python3)

HOST ?= 127.0.0.1
PORT ?= 8000
PYTEST_WORKERS ?= 2
PYTEST_ARGS ?=
BENCH_ARGS ?=
LINT_PATHS := osler tests scripts bench
# Debian packages the test suite needs, installed by scripts/install_system_packages.sh when missing
# (as root only): Tesseract and Poppler for the DME pipeline's OCR and page rendering.
SYSTEM_PACKAGES ?= tesseract-ocr tesseract-ocr-eng poppler-utils
BENCH_SYSTEM_PACKAGES := wrk $(SYSTEM_PACKAGES)

BASE_STAMP := $(VENV)/.osler-installed
TEST_STAMP := $(VENV)/.osler-installed-test

# Quiet, non-interactive pip: CI has no stdin and runs as root.
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export PIP_ROOT_USER_ACTION := ignore
export PIP_NO_INPUT := 1

.PHONY: help up test bench lint clean

help: ## list the targets
	@echo "Osler make targets:"
	@awk 'BEGIN { FS = ":.*## " } /^[a-z][a-z-]*:.*## / { printf "  %-7s %s\n", $$1, $$2 }' $(MAKEFILE_LIST)
	@echo "Variables: HOST=$(HOST) PORT=$(PORT) PYTEST_WORKERS=$(PYTEST_WORKERS) PYTEST_ARGS=... BENCH_ARGS=..."

up: $(BASE_STAMP) ## install if needed, migrate, serve on HOST:PORT (SQLite under ./var by default)
	mkdir -p "$${OSLER_HOME:-var}"
	$(VENV)/bin/osler db upgrade
	exec $(VENV)/bin/osler serve --host $(HOST) --port $(PORT)

test: $(TEST_STAMP) ## lint, then the whole test suite on PYTEST_WORKERS xdist workers
	bash scripts/install_system_packages.sh $(SYSTEM_PACKAGES)
	$(VENV)/bin/ruff check $(LINT_PATHS)
	$(PY) -m pytest -q -n $(PYTEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

bench: $(TEST_STAMP) ## the benchmarks (bench/run_bench.py; needs ../shared/data and Debian's wrk)
	bash scripts/install_system_packages.sh $(BENCH_SYSTEM_PACKAGES)
	$(PY) bench/run_bench.py $(BENCH_ARGS)

lint: $(TEST_STAMP) ## ruff over the code, tests, scripts and benchmarks
	$(VENV)/bin/ruff check $(LINT_PATHS)

clean: ## remove var/ and caches (keeps .venv)
	rm -rf var .pytest_cache .ruff_cache build dist *.egg-info
	find . \( -path ./$(VENV) -o -path ./.git \) -prune -o -type d -name __pycache__ -prune -exec rm -rf {} +

$(PY):
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
		|| { echo "Osler needs Python >= 3.11; $(PYTHON) is $$($(PYTHON) --version 2>&1)" >&2; exit 1; }
	$(PYTHON) -m venv $(VENV)

# Order-only on the interpreter: its timestamp says nothing about what is installed.
$(BASE_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e .
	touch $@

$(TEST_STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[test]'
	touch $@ $(BASE_STAMP)
