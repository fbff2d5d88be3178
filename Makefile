# Every target bootstraps .venv on first use, so a fresh machine needs only python3 and make.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/segsync demo

# The report's browser test needs Debian's chromium and the state store's PostgreSQL tests
# Debian's postgresql; without them (no root, no apt) those tests are skipped.
test: lint
	-bash scripts/install-browser.sh
	-bash scripts/install-postgres.sh
	$(VENV)/bin/pytest

# Style, import order and types (strict where the promises live: see pyproject.toml).
lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) .pytest_cache .segsync

# The bench extra (DuckDB, the SQL peer of bench/segment.py) is never a runtime dependency.
BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): $(STAMP)
	$(VENV)/bin/pip install --quiet -e '.[bench]'
	touch $(BENCH_STAMP)

bench: $(BENCH_STAMP)
	$(VENV)/bin/python bench/pull.py
	$(VENV)/bin/python bench/segment.py
	$(VENV)/bin/python bench/segment.py 2000000
	$(VENV)/bin/python bench/clusters.py
	$(VENV)/bin/python bench/sync_bench.py
	$(VENV)/bin/python bench/sync_bench.py --latency
	$(VENV)/bin/python bench/exports.py
