# `make demo` and `make test` set everything up on a fresh clone (Python ≥ 3.10 with venv).
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: install lint demo test test-all clean

$(STAMP): pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[test,cluster]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/deepprior demo --out demo_out --force

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests examples
	$(VENV)/bin/ruff format --check src tests examples

test: lint
	$(PY) -m pytest -q -m "not slow" --doctest-modules src/deepprior tests

test-all: lint
	$(PY) -m pytest -q --doctest-modules src/deepprior tests

clean:
	rm -rf $(VENV) demo_out .pytest_cache
