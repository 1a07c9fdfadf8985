# The README's commands. `make test` sets everything up from nothing and runs the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: install test report lint bench clean population notebooks

$(BIN)/dispro: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e ".[test]"
	@touch $(BIN)/dispro

install: $(BIN)/dispro

test: install
	OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 $(BIN)/python -m pytest -n 2

report: install
	$(BIN)/dispro report --demo

notebooks: install
	$(BIN)/python scripts/make_notebooks.py

lint: install
	$(BIN)/ruff check src tests benchmarks scripts

bench: install
	$(BIN)/python benchmarks/bench_rri.py

population: install
	$(BIN)/python scripts/build_census2021.py
	$(BIN)/python scripts/build_census2021_age.py

clean:
	rm -rf $(VENV) .pytest_cache
