# The README's commands. `make test` sets everything up from nothing and runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install install-report system-deps test report lint bench bench-aggregate bench-engines bench-models clean population notebooks

# the PDF checks need poppler's pdftotext/pdftoppm; weasyprint needs pango; the Spark test needs
# a Java runtime (Debian packages)
system-deps:
	@command -v pdftotext >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq && apt-get install -y -qq poppler-utils libpango-1.0-0 libpangoft2-1.0-0 >/dev/null) || \
	  echo "install poppler-utils (pdftotext, pdftoppm) for the PDF tests"; }
	@command -v java >/dev/null 2>&1 || { command -v apt-get >/dev/null 2>&1 && \
	  (apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless >/dev/null) || \
	  echo "install a Java 17 runtime (openjdk-17-jre-headless) for the Spark test"; }

# two installs into one venv: the core (dispro and what rendering needs: `make report`) and the
# core with the engines and the test tools (`.[test]`, PySpark included: `make test` and the rest)
$(VENV)/.installed-core: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	@touch $@ $(VENV)/.installed-core

install-report: $(VENV)/.installed-core

install: $(VENV)/.installed-test

test: install system-deps
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 $(BIN)/python -m pytest -n 2

report: install-report
	$(BIN)/dispro report --demo

notebooks: install
	$(BIN)/python scripts/make_notebooks.py

lint: install
	$(BIN)/ruff check src tests benchmarks scripts
	$(BIN)/ruff format --check src tests benchmarks scripts
	$(BIN)/lint-imports --no-cache

bench: install
	$(BIN)/python benchmarks/bench_rri.py
	$(BIN)/python benchmarks/bench_police_uk.py

bench-aggregate: install  # writes 2.4 GB of synthetic records to benchmarks/results/ on the first run
	$(BIN)/python benchmarks/bench_aggregate.py --repeat 5

bench-engines: install  # writes 1.5 GB of synthetic parquet to benchmarks/results/ on the first run; needs Java
	$(BIN)/python benchmarks/bench_engines.py --repeat 3

bench-models: install
	$(BIN)/python benchmarks/bench_models.py

.PHONY: bench-peers
bench-peers: install  # aequitas needs pandas < 3: its own environment, .venv-peers (git-ignored)
	@test -x .venv-peers/bin/python || { $(PYTHON) -m venv .venv-peers && \
	  .venv-peers/bin/pip install --quiet aequitas==1.1.0 fairlearn==0.15.0 pyarrow; }
	$(BIN)/python benchmarks/bench_peers.py --records 1000000 --repeat 5

population: install
	$(BIN)/python scripts/build_census2021.py
	$(BIN)/python scripts/build_census2021_age.py
	$(BIN)/python scripts/build_census2021_pfa.py

clean:
	rm -rf $(VENV) .pytest_cache
