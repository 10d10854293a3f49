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

# Full suite: fast tests first, then the slow checks as their own steps, each bounded (28 + 36 + 23
# minutes, so even a step that runs to its bound ends inside CI's 90 minutes; per test: pytest-timeout).
# Measured on the 2-core CI machine on 2026-12-06: fast 14 min, slow 38 min before the heaviest and most
# redundant checks moved to `-m extended`; on 2026-12-07 CI's fast tier ran past 25 minutes where this
# VM took 18, so the heaviest fast test left too and the bounds leave ~1.5x this VM's times
# (BENCHMARKS.md, "Whole test suite"). The RingRift closed-loop
# tests run in a fresh process: at the end of one long slow-tier process, a hex8 compile once aborted
# inside XLA while writing the compilation cache (alone it passes).
LOOP_TESTS = tests/test_ringrift_loop.py
test: setup
	timeout 28m $(PY) -m pytest -q -m "not slow and not extended"
	timeout 36m $(PY) -m pytest -q -m "slow and not extended" --ignore=$(LOOP_TESTS) || [ $$? -eq 5 ]
	timeout 23m $(PY) -m pytest -q -m "slow and not extended" $(LOOP_TESTS) || [ $$? -eq 5 ]

test-fast: setup
	$(PY) -m pytest -q -m "not slow and not extended"

test-slow: setup
	$(PY) -m pytest -q -m "slow and not extended" --ignore=$(LOOP_TESTS)
	$(PY) -m pytest -q -m "slow and not extended" $(LOOP_TESTS)

clean:
	rm -rf $(VENV) .jax_cache .pytest_cache
