"""Shared test set-up: persistent compilation cache and the location of ../shared."""

from __future__ import annotations

import pytest

from jaxzero import paths

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
