"""Shared test set-up: persistent compilation cache and the location of ../shared."""

from __future__ import annotations

import os

import pytest

from jaxzero import paths

# Under pytest-xdist (`make test` runs two workers) each worker gets its own cache directory, and the
# scripts the tests start inherit it: two processes never write one cache entry at the same time.
_worker = os.environ.get("PYTEST_XDIST_WORKER")
if _worker:
    _base = os.environ.get("JAX_COMPILATION_CACHE_DIR") or str(paths.REPO_ROOT / ".jax_cache")
    os.environ["JAX_COMPILATION_CACHE_DIR"] = os.path.join(_base, _worker)
paths.enable_compilation_cache()


@pytest.fixture(scope="session")
def shared_dir():
    """The shared folder; tests that need it skip with a clear reason when it is missing."""
    d = paths.shared_dir()
    if not (d / "ringrift").is_dir():
        pytest.skip(f"shared RingRift material not found at {d} (set JAXZERO_SHARED)")
    return d


@pytest.fixture(scope="session")
def traces_dir(shared_dir):
    return shared_dir / "ringrift" / "traces"


@pytest.fixture(scope="session")
def vectors_dir(shared_dir):
    return shared_dir / "ringrift" / "vectors"


# Modules that take longest on CI, longest first (measured with `make test PYTEST_ARGS=--durations=0`;
# BENCHMARKS.md, "Whole test suite"). The two xdist workers take modules in collection order, so
# starting with these keeps one long module from running alone at the end.
_LONGEST_FIRST = (
    # slow tier (2026-12-07, summed seconds per module on two workers: 550, 522, 227, 219, 197, 197)
    "test_serve.py", "test_parity.py", "test_faults.py", "test_mesh.py", "test_kill_resume.py", "test_properties.py",
    # fast tier (221, 164, 158, 129, 126, 104)
    "test_selfplay.py", "test_bench.py", "test_compact.py", "test_arena.py", "test_fuzz.py", "test_search.py",
)


def pytest_collection_modifyitems(config, items):
    def rank(item):
        name = item.path.name
        return _LONGEST_FIRST.index(name) if name in _LONGEST_FIRST else len(_LONGEST_FIRST)

    items.sort(key=rank)  # stable: the other modules keep their order
