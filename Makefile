# `make demo` and `make test` set everything up on a fresh clone (Python ≥ 3.10 with venv).
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.PHONY: install browser lint demo serve test test-all clean

$(STAMP): pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[test,cluster,ui,astro,render]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/deepprior demo --out demo_out --force

serve: $(STAMP)
	$(VENV)/bin/deepprior serve

# The web page's tests drive Debian's chromium through chromedriver: install both when missing.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
	  { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium chromium-driver >/dev/null; }

lint: $(STAMP)
	$(VENV)/bin/ruff check src tests examples
	$(VENV)/bin/ruff format --check src tests examples

test: lint browser
	$(PY) -m pytest -q -m "not slow" --doctest-modules src/deepprior tests

test-all: lint browser
	$(PY) -m pytest -q --doctest-modules src/deepprior tests

clean:
	rm -rf $(VENV) demo_out .pytest_cache
