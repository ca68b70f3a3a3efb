# `make lab` and `make test` each do all set-up on a fresh machine; see README.md.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: lab test lint types pytest bench screenshots system-deps clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# Debian's chromium drives the JupyterLab browser test (Playwright's own browser download cannot work here).
system-deps:
	@$(call apt,/usr/bin/chromium,chromium,the browser test)

# $(call apt,FILE,PACKAGE,WHY): install the Debian PACKAGE when FILE is missing (as root), else say how.
apt = if [ ! -x $(1) ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(2); \
	  else \
	    echo "$(2) is missing: run 'sudo apt-get install $(2)' (needed by $(3))"; exit 1; \
	  fi; \
	fi

# JupyterLab on the analyst's working copies in workbench/ (git-ignored, copied from notebooks/
# once), opened on the first notebook. No key configured: the notebooks start (or reuse) the shared
# local sandbox under $$BILLING_KIT_HOME. Extra jupyter options: make lab LAB_ARGS="--port 8890".
lab: $(STAMP)
	$(BIN)/billing-kit lab -- $(LAB_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check billing_kit tests benchmarks examples
	$(BIN)/ruff format --check billing_kit tests benchmarks examples

types: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP) system-deps
	$(BIN)/pytest $(PYTEST_ARGS)

test: lint types pytest

# The form pictures in docs/notebooks.md: the browser tests save screenshots of each form element
# to artifacts/screenshots/ (git-ignored, kept by CI); these are copied into docs/screenshots/.
DOC_SHOTS := charge-form-success charge-form-declined batch-form-results refund-form-review \
	history-browser-table ledger-view
screenshots: $(STAMP) system-deps
	$(BIN)/pytest -q -p no:cacheprovider tests/browser/test_charge_notebook.py \
	  tests/browser/test_batch_notebook.py tests/browser/test_history_and_refunds.py
	mkdir -p docs/screenshots
	for name in $(DOC_SHOTS); do cp artifacts/screenshots/$$name.png docs/screenshots/; done

bench: $(STAMP)
	$(BIN)/python -m benchmarks $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .venv-localstripe .mypy_cache .pytest_cache .ruff_cache build *.egg-info
