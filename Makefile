# Two commands for a newcomer: `make up` serves the platform, `make test` runs every test.
# Each sets up the virtual environment on first use. `make fuzz` sends generated
# requests to every operation of the API document and prints what they were answered;
# `make faults` runs the fault suite (PostgreSQL, Redis and RabbitMQ at 127.0.0.1) and
# prints its table. `make bench` runs every benchmark's quick form and prints one summary.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: up demo test fuzz faults bench check install clean

up: $(INSTALLED)
	$(BIN)/auction-platform up

demo: $(INSTALLED)
	$(BIN)/auction-platform demo

test: $(INSTALLED)
	$(BIN)/python -m pytest -n 2

fuzz: $(INSTALLED)
	$(BIN)/python -m pytest -q -p no:cacheprovider -m fuzz tests/fuzz

faults: $(INSTALLED)
	$(BIN)/python -m pytest -q -p no:cacheprovider -m faults tests/faults

bench: $(INSTALLED)
	$(BIN)/python benchmarks/all.py

check: $(INSTALLED)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy

install: $(INSTALLED)

$(INSTALLED): pyproject.toml
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Python 3.11 or newer is needed")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(INSTALLED)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
