"""Progress people can read: a bar on a terminal, one short line per step in a redirected log.

`make train > log 2>&1` must give a log a person can read: carriage-return progress bars would
turn it into one line of megabytes. So bars appear only when stderr is a terminal; otherwise each
step of a long phase prints one line (time of day, what ran, how long, and a rate).
"""

from __future__ import annotations

import sys
import time
from typing import Any, Callable, Iterator

from tqdm import tqdm


def steps(total: int, desc: str, unit: str, enabled: bool, per_step: int = 0, what: str = "",
          every: int = 1, sync: Callable[[], Any] | None = None) -> Iterator[int]:
    """``range(total)`` with progress: a tqdm bar on a terminal; else, when ``enabled``, one line per
    ``every`` steps (``per_step`` items of ``what`` per step give a rate). ``enabled=False``: silent.
    ``sync`` waits for the last step's device work before a line is timed (JAX dispatches
    asynchronously, so without it a line would time the dispatch, not the work)."""
    if not enabled:
        yield from range(total)
        return
    if sys.stderr.isatty():
        yield from tqdm(range(total), desc=desc, unit=unit, leave=False, file=sys.stderr)
        return
    start = last = time.time()
    for k in range(total):
        yield k
        if (k + 1) % every and k + 1 != total:
            continue
        if sync is not None:
            sync()
        now, done = time.time(), (k % every) + 1
        rate = f", {per_step * done / max(now - last, 1e-9):.1f} {what}/s" if per_step else ""
        print(f"{time.strftime('%H:%M:%S')} {desc}: {unit} {k + 1}/{total} in {now - last:.1f}s{rate} "
              f"({now - start:.0f}s so far)", file=sys.stderr, flush=True)
        last = now
