# bkjob-export - the README's two commands are `make demo` and `make test`.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP_BASE := $(VENV)/.installed-base
STAMP_TEST := $(VENV)/.installed-test

.PHONY: help demo test check lint bench bench-scale clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP_BASE): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e .
	touch $@

$(STAMP_TEST): pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[test]'
	touch $@ $(STAMP_BASE)

demo: $(STAMP_BASE)  ## simulator + full pipeline -> demo-out/ and demo-out/report.html
	$(VENV)/bin/bkjob-export demo --out demo-out

test: $(STAMP_TEST)  ## run the test suite
	$(PY) -m pytest -q

lint: $(STAMP_TEST)  ## ruff format check, ruff lint, mypy strict
	$(VENV)/bin/ruff format --check pipeline tests benchmarks
	$(VENV)/bin/ruff check pipeline tests benchmarks
	$(VENV)/bin/mypy

check: lint test  ## lint + types + tests

bench: $(STAMP_TEST)  ## benchmarks that print figures (no timed asserts)
	$(PY) -m benchmarks fetch datasets report

bench-scale: $(STAMP_TEST)  ## the large-site week, scaled down (Parquet, Delta, DuckDB, Spark)
	$(PY) -m benchmarks scale

clean:  ## remove the venv and generated outputs
	rm -rf $(VENV) demo-out out build dist .pytest_cache .mypy_cache .ruff_cache
