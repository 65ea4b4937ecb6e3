# Two commands on a fresh machine: `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP_RUN := $(VENV)/.installed-run
STAMP_TEST := $(VENV)/.installed-test
# pycanon, the reference for k, l and t, pins typing_extensions==4.15.0 that assay's dependencies refuse: a venv of its own
PYCANON := .venv-pycanon/.installed
# axe-core (the npm registry) checks the console's pages for accessibility in the browser tests
AXE := .axe/node_modules/axe-core/axe.min.js

.PHONY: demo test test-all bench lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(STAMP_RUN): pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[explain]'
	touch $@

$(STAMP_TEST): pyproject.toml | $(BIN)/python
	sh scripts/system-deps.sh
	$(BIN)/pip install -q -e '.[test,bench]'
	touch $@ $(STAMP_RUN)

$(PYCANON):
	rm -rf .venv-pycanon && $(PYTHON) -m venv .venv-pycanon
	.venv-pycanon/bin/pip install -q pycanon pandas
	touch $@

$(AXE): | $(STAMP_TEST)
	npm install --prefix .axe --no-audit --no-fund --silent axe-core@4.14.1

demo: $(STAMP_RUN)
	$(BIN)/assay demo --out demo-output

test: $(STAMP_TEST) $(PYCANON) $(AXE)
	$(BIN)/python -m pytest -m "not slow" -q

test-all: $(STAMP_TEST) $(PYCANON) $(AXE)
	$(BIN)/python -m pytest -q

bench: $(STAMP_TEST)
	$(BIN)/python benchmarks/bench_audit.py
	$(BIN)/python benchmarks/bench_fliptest.py
	$(BIN)/python benchmarks/bench_explain.py
	$(BIN)/python benchmarks/bench_explain_jobs.py
	$(BIN)/python benchmarks/bench_mitigate.py
	test -x benchmarks/.venv-evidently/bin/python || ($(PYTHON) -m venv benchmarks/.venv-evidently && benchmarks/.venv-evidently/bin/pip install -q evidently 'pandas<3')
	$(BIN)/python benchmarks/bench_monitor.py
	$(BIN)/python benchmarks/bench_service.py
	$(BIN)/python benchmarks/bench_spark.py
	$(BIN)/python benchmarks/bench_discover.py
	$(BIN)/python benchmarks/bench_robustness.py
	$(BIN)/python benchmarks/bench_private.py
	$(BIN)/python benchmarks/bench_console.py

lint: $(STAMP_TEST)
	$(BIN)/python -m mypy src
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/python scripts/layout.py .

clean:
	rm -rf $(VENV) .venv-pycanon .axe demo-output build *.egg-info src/*.egg-info
