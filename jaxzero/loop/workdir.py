"""One run per workdir: an exclusive lock on ``<workdir>/.lock`` for as long as a `Loop` runs.

Two processes on one workdir would interleave their metrics rows and overwrite each other's
checkpoints; the second is refused with the holder's pid. The lock is an advisory `flock`: it
goes away with the process that holds it, also after a kill, so a stale file never blocks a resume.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


class WorkdirBusyError(RuntimeError):
    """Another process is running a loop on this workdir."""


class WorkdirLock:
    """``with WorkdirLock(workdir):`` holds the workdir's lock (see the module docstring)."""

    def __init__(self, workdir: str | os.PathLike):
        self.path = Path(workdir) / ".lock"
        self._fd = None

    def __enter__(self) -> "WorkdirLock":
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise WorkdirBusyError(
                f"workdir {self.path.parent} is in use by process {holder}: wait for it to finish or use "
                "another --workdir"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self._fd is not None:
            os.ftruncate(self._fd, 0)
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
