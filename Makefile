# Netralitas ASN. `make up` runs the platform locally; `make test` runs every test.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := python3.11
UV_VERSION := 0.13.9
BOOT := .local/bootstrap
UV := $(BOOT)/bin/uv
RUN := $(UV) run --frozen --all-extras

.PHONY: install up down test lint bench schemas clean k8s-check promtool

$(UV):
	python3.11 -m venv $(BOOT)
	$(BOOT)/bin/pip install --quiet uv==$(UV_VERSION)

.venv/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --all-extras --compile-bytecode
	touch $@

install: .venv/.synced

up: install
	$(RUN) netral up

down:
	@if [ -x .venv/bin/netral ]; then .venv/bin/netral down; else echo "nothing to stop"; fi

# promtool comes with Debian's prometheus package; kubectl (kustomize) is on the machine image.
promtool:
	@command -v promtool >/dev/null || { apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }
	@command -v kubectl >/dev/null || { echo "kubectl is missing (needed for kustomize)"; exit 1; }

k8s-check: install promtool
	$(RUN) netral k8s-check

# Lint first: a benchmark that stops importing after a refactor fails here, not silently.
test: install lint k8s-check
	$(RUN) pytest

lint: install
	$(RUN) ruff check services contracts netral tests
	$(RUN) mypy --strict services contracts netral tests

bench: install
	$(RUN) python -m tests.bench.startup_bench
	$(RUN) python -m tests.bench.registry_bench
	$(RUN) python -m tests.bench.signing_bench
	$(RUN) python -m tests.bench.reports_bench
	$(RUN) python -m tests.bench.notify_bench

schemas: install
	$(RUN) netral schemas export --out schemas

clean: down
	rm -rf .local .venv
