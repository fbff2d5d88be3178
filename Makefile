# Every target bootstraps .venv on first use, so a fresh machine needs only python3 and make.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/segsync demo

# The report's browser test needs Debian's chromium and the state store's PostgreSQL tests
# Debian's postgresql; without them (no root, no apt) those tests are skipped.
test: $(STAMP)
	-bash scripts/install-browser.sh
	-bash scripts/install-postgres.sh
	$(VENV)/bin/pytest

clean:
	rm -rf $(VENV) .pytest_cache .segsync

bench: $(STAMP)
	$(VENV)/bin/python bench/pull.py
	$(VENV)/bin/python bench/segment.py
	$(VENV)/bin/python bench/clusters.py
	$(VENV)/bin/python bench/sync_bench.py
	$(VENV)/bin/python bench/sync_bench.py --latency
	$(VENV)/bin/python bench/exports.py
