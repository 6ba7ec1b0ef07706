# Two commands for a newcomer: `make dev` (install + run everything) and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# Test files run in parallel (pytest-xdist, one file per worker at a time); TEST_WORKERS=0 runs serially.
TEST_WORKERS ?= 2
# Options for `casehub dev`, e.g. make dev ARGS="--base-port 9001" or ARGS="--tokens".
ARGS ?=

.PHONY: install dev test lint format bench lock

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

dev: install
	$(BIN)/casehub dev $(ARGS)

test: install lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --durations=25

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(VENV)/.bench-installed
	$(BIN)/python -m bench

$(VENV)/.bench-installed: $(VENV)/.installed
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $@

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# The image's dependencies, pinned with hashes (deploy/Dockerfile installs exactly these).
lock: install
	$(BIN)/uv pip compile pyproject.toml --generate-hashes --universal --python-version 3.11 \
		--output-file deploy/requirements.lock
	printf 'setuptools>=68\n' | $(BIN)/uv pip compile - --generate-hashes --universal \
		--python-version 3.11 --no-header --output-file deploy/requirements-build.lock
