# `make lab` and `make test` each do all set-up on a fresh machine; see README.md.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: lab test lint types pytest bench system-deps clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Debian's chromium drives the JupyterLab browser test (Playwright's own browser download cannot work here).
system-deps:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else \
	    echo "chromium is missing: run 'sudo apt-get install chromium' (needed by the browser test)"; exit 1; \
	  fi; \
	fi

# No key configured: the notebooks start (or reuse) the shared local sandbox under $$BILLING_KIT_HOME.
lab: $(STAMP)
	$(BIN)/jupyter lab --notebook-dir=notebooks --ServerApp.ip=127.0.0.1 \
	  $$( [ "$$(id -u)" = 0 ] && echo --allow-root )

lint: $(STAMP)
	$(BIN)/ruff check billing_kit tests benchmarks setup.py
	$(BIN)/ruff format --check billing_kit tests benchmarks setup.py

types: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) system-deps
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint types pytest

bench: $(STAMP)
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .venv-localstripe .mypy_cache .pytest_cache .ruff_cache build *.egg-info \
	  billing_kit/history/_gather.c billing_kit/history/_gather.*.so
