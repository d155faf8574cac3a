# The two commands of the README: `make serve` and `make test`.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: serve test test-slow lint typecheck unit install clean bench bench-secrets bench-kms bench-tenants bench-audit bench-noisy

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

## Start a development server on embedded SQLite and print how to point boto3 at it.
serve: $(STAMP)
	$(BIN)/strongroom server --dev

## Install what the tests need, then lint, type-check and run every test.
test: $(STAMP) lint typecheck
	$(BIN)/python -m pytest -q -n 2 --dist loadfile -m "not slow and not exclusive"
	$(BIN)/python -m pytest -q -m "exclusive and not slow"

## The long runs behind the `slow` marker: on two workers, then the `exclusive` ones (the kill loop) alone.
test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -n 2 --dist loadfile -m "slow and not exclusive"
	$(BIN)/python -m pytest -q -m "slow and exclusive"

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports

typecheck: $(STAMP)
	$(BIN)/mypy

## Both benchmarks (see benchmarks/README.md), one after the other even under `make -j`.
bench: $(STAMP)
	$(MAKE) --no-print-directory bench-secrets
	$(MAKE) --no-print-directory bench-kms

bench-secrets: $(STAMP)
	$(BIN)/python benchmarks/get_secret_value.py

bench-kms: $(STAMP)
	$(BIN)/python benchmarks/kms_crypto.py

## GetSecretValue with policies enforced, 10 vs 10,000 tenants (not part of `make bench`: ~12 min).
bench-tenants: $(STAMP)
	$(BIN)/python benchmarks/tenant_scaling.py

## LookupEvents by ResourceName over 1,000,000 stored events (~5 min; target p50 < 0.1 s).
bench-audit: $(STAMP)
	$(BIN)/python benchmarks/lookup_events.py

## Noisy neighbour: a tenant at 10x its rate beside one under it (~2 min; target p99 <= 2x).
bench-noisy: $(STAMP)
	$(BIN)/python benchmarks/noisy_neighbour.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache build src/*.egg-info
