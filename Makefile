# Netralitas ASN. `make up` runs the platform locally; `make test` runs every test.
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
export UV_PYTHON := python3.11
UV_VERSION := 0.13.9
BOOT := .local/bootstrap
UV := $(BOOT)/bin/uv
RUN := $(UV) run --frozen --all-extras

.PHONY: install browser up down test lint bench schemas clean k8s-check promtool

$(UV):
	python3.11 -m venv $(BOOT)
	$(BOOT)/bin/pip install --quiet uv==$(UV_VERSION)

.venv/.synced: $(UV) pyproject.toml uv.lock
	$(UV) sync --frozen --all-extras --compile-bytecode
	touch $@

install: .venv/.synced browser

# The browser tests (tests/browser) drive Debian's Chromium, never `playwright install` (which
# downloads a browser from the internet). Installed once when missing; apt-get needs root, so
# sudo when not root. When neither works, `make up` still works and the browser tests say what to do.
CHROMIUM := /usr/bin/chromium
browser:
	@if [ ! -x $(CHROMIUM) ]; then \
		if [ "$$(id -u)" = 0 ]; then AS_ROOT=""; \
		elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then AS_ROOT="sudo -n"; \
		else AS_ROOT=none; fi; \
		if [ "$$AS_ROOT" = none ]; then \
			echo "PERHATIAN: Chromium belum terpasang dan tidak dapat dipasang (perlu root atau sudo)."; \
			echo "  Pasang sendiri: sudo apt-get install -y --no-install-recommends chromium"; \
			echo "  Tanpa itu tes peramban (tests/browser) gagal."; \
		else \
			echo "Memasang Chromium dari Debian untuk tes peramban (sekali, sekitar 500 MB)..."; \
			$$AS_ROOT apt-get update -qq && \
			DEBIAN_FRONTEND=noninteractive $$AS_ROOT apt-get install -y -qq --no-install-recommends \
				chromium >/dev/null || { echo "apt-get gagal memasang chromium (lihat pesan di atas)."; exit 1; }; \
		fi; \
	fi

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
