# Tidings: `make run` serves the app on http://127.0.0.1:8000; `make test` runs every check.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install run test test-postgres lint typecheck unit bench clean hardening-report

install: $(STAMP)

# torch is installed first and pinned so that sentence-transformers does not pull a multi-GB CUDA build.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[nlp,postgres,dev]'
	$(PY) -m pip install --quiet --no-deps --ignore-requires-python google-reader==0.0.3
	touch $(STAMP)

run: install
	$(VENV)/bin/tidings init
	$(VENV)/bin/tidings serve --host $(HOST) --port $(PORT)

lint: install
	$(PY) -m ruff check src tests bench
	$(PY) -m ruff format --check src tests bench

typecheck: install
	$(PY) -m mypy

unit: install
	$(PY) -m pytest || [ $$? -eq 5 ]

# The whole suite again, on the PostgreSQL server at TIDINGS_TEST_POSTGRES_URL (about 28 minutes here).
test-postgres: install
	TIDINGS_TEST_DATABASE=postgres $(PY) -m pytest

test: lint typecheck unit

# The hostile corpus, fuzz targets, authorisation matrix and crash loop (tests/hostile), counted per family.
hardening-report: install
	$(PY) tests/hostile/report.py

bench: install
	$(PY) bench/extraction.py
	$(PY) bench/ingest.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .mypy_cache .ruff_cache
