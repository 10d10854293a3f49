"""Locations outside the package: the shared RingRift material and the compilation cache."""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def shared_dir() -> Path:
    """The shared folder (`$JAXZERO_SHARED`, default `../shared` beside the checkout)."""
    env = os.environ.get("JAXZERO_SHARED")
    return Path(env) if env else REPO_ROOT.parent / "shared"


def traces_dir() -> Path:
    """RingRift reference traces (`<shared>/ringrift/traces`)."""
    return shared_dir() / "ringrift" / "traces"


def vectors_dir() -> Path:
    """RingRift contract vectors (`<shared>/ringrift/vectors`)."""
    return shared_dir() / "ringrift" / "vectors"


def enable_compilation_cache(path: str | os.PathLike | None = None) -> str:
    """Turns on JAX's persistent compilation cache (`$JAX_COMPILATION_CACHE_DIR`, default `.jax_cache`).

    Call before the first jit compile. Returns the directory used.
    """
    import jax

    cache = str(path or os.environ.get("JAX_COMPILATION_CACHE_DIR") or (REPO_ROOT / ".jax_cache"))
    os.makedirs(cache, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", cache)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return cache
