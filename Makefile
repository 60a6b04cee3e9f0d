# Two entry points for a fresh machine: `make demo` and `make test`.
# Both create .venv if missing and install everything (CPU torch only).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
OUT ?= out
# The CPU build of torch lives in a local wheel cache on these machines; an
# unpinned `torch` would pull gigabytes of CUDA wheels from the registry.
TORCH_WHEEL := $(firstword $(wildcard /opt/wheels/torch-2.13.0+cpu*.whl))
TORCH_REQ := $(if $(TORCH_WHEEL),$(TORCH_WHEEL),torch==2.13.0)

.PHONY: install demo test lint docs bench clean

$(VENV)/.installed: pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q "$(TORCH_REQ)"
	$(PY) -m pip install -q -e ".[torch,dev,docs]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(VENV)/bin/beamopt boundary --out $(OUT)

lint: install
	$(PY) -m ruff check beamopt tests examples benchmarks
	$(PY) -m ruff format --check beamopt tests examples benchmarks

test: lint
	$(PY) -m pytest
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --quiet --site-dir $(VENV)/site

docs: install
	$(PY) -m mkdocs build --strict

bench: install
	$(PY) benchmarks/bench_closed_form.py

clean:
	rm -rf $(VENV) $(OUT) site .pytest_cache .hypothesis
