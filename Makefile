# Two entry points for a fresh machine: `make demo` and `make test`.
# Both create .venv if missing. `make demo` installs the solver core only (no torch);
# `make test` (and `make install`) add torch, the test and the docs tools.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
OUT ?= out

# torch is only needed by the learning/sampling features and their tests, and only its CPU
# build: a local wheel cache if the machine has one, else the CPU index (override
# TORCH_INDEX_URL for a mirror). A plain `pip install torch` would pull the CUDA build.
TORCH_VERSION ?= 2.13.0
TORCH_INDEX_URL ?= https://download.pytorch.org/whl/cpu
TORCH_WHEEL ?= $(firstword $(wildcard /opt/wheels/torch-$(TORCH_VERSION)+cpu*.whl))
TORCH_INSTALL := $(if $(TORCH_WHEEL),"$(TORCH_WHEEL)",torch==$(TORCH_VERSION) --index-url $(TORCH_INDEX_URL))

.PHONY: install install-core demo study test lint docs bench package-check clean

# the solver core: numpy, scipy, cvxpy, pymanopt, matplotlib (no torch)
$(VENV)/.core: pyproject.toml Makefile
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q -e .
	touch $@

# everything: CPU torch first (so the `torch` and `sionna` extras find it satisfied and pull
# no CUDA build), then the extras; sionna-no-rt is the 3GPP channel generator of beamopt.channels
$(VENV)/.installed: $(VENV)/.core
	$(PY) -m pip install -q $(TORCH_INSTALL)
	$(PY) -m pip install -q -e ".[torch,sionna,dev,docs]"
	touch $@

install-core: $(VENV)/.core

install: $(VENV)/.installed

demo: install-core
	$(VENV)/bin/beamopt boundary --out $(OUT)

# the score-based precoding study on aged 3GPP channels (about 10 minutes on 2 cores; resumable)
study: install
	$(PY) examples/score_precoding.py --out $(OUT)/study

lint: install
	$(PY) -m ruff check beamopt tests examples benchmarks tools
	$(PY) -m ruff format --check beamopt tests examples benchmarks tools

test: lint
	$(PY) -m pytest
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict --quiet --site-dir $(VENV)/site

docs: install
	NO_MKDOCS_2_WARNING=1 $(PY) -m mkdocs build --strict

bench: install
	$(PY) benchmarks/bench_closed_form.py

# what a user of the wheel gets: build the wheel and the sdist, install the wheel into a
# fresh venv with the core dependencies only (no torch, no extras) and run `beamopt boundary`
# there (tools/check_install.py; about a minute, mostly pip)
PKG ?= $(VENV)/package-check
package-check: install
	rm -rf $(PKG)
	$(PY) -m build --wheel --sdist --outdir $(PKG)/dist . > $(PKG).log 2>&1 || (cat $(PKG).log; exit 1)
	$(PYTHON) -m venv $(PKG)/core
	$(PKG)/core/bin/python -m pip install -q $(PKG)/dist/beamopt-*.whl > $(PKG).log 2>&1 || (cat $(PKG).log; exit 1)
	cd $(PKG) && core/bin/python $(CURDIR)/tools/check_install.py --dist dist --out out

clean:
	rm -rf $(VENV) $(OUT) site dist build *.egg-info .pytest_cache .hypothesis
