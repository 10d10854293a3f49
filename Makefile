# Two entry points for a fresh machine with only Python 3.11+:
#   make train   -> set up .venv and run the main job on a small default config
#   make test    -> set up .venv and run the test suite (what CI runs)
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
CONFIG ?= sq8.py:cpu
WORKDIR ?=
export JAX_COMPILATION_CACHE_DIR ?= $(CURDIR)/.jax_cache

.PHONY: setup train test test-fast test-slow clean

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e ".[test]"
	touch $@

setup: $(VENV)/.installed

train: setup
	$(PY) scripts/train.py --config $(CONFIG) $(if $(WORKDIR),--workdir $(WORKDIR))

# Full suite: the fast tier, then the slow checks, under one bound so the run ends inside CI's
# 90 minutes with setup (per test: pytest-timeout). Each tier runs on two pytest-xdist workers, one per
# core of CI's 2-core machine: XLA compiles on one thread, so one process left a core idle most of the
# time (load ~1.3). `--dist loadfile` keeps a module's compiled fixtures in one worker;
# `--no-loadscope-reorder` keeps the collection order, which tests/conftest.py starts with the longest
# modules, so the two workers end together. PYTEST_ARGS adds options (e.g. PYTEST_ARGS=--durations=0).
PYTEST_ARGS ?=
PYTEST = $(PY) -m pytest -q -n 2 --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)
test: setup
	timeout 85m $(MAKE) --no-print-directory test-fast test-slow

test-fast: setup
	$(PYTEST) -m "not slow and not extended"

test-slow: setup
	$(PYTEST) -m "slow and not extended" || [ $$? -eq 5 ]

clean:
	rm -rf $(VENV) .jax_cache .pytest_cache
