"""Who uses an embedded data directory: a running platform, or a restore.

``auction-platform up`` holds a shared lock on ``<data dir>/.platform.lock`` while it
runs; a restore takes it exclusively, so it never replaces the files of a running
platform, and a platform never starts on a half-restored directory. The kernel drops
the lock when its process ends, even by a crash, so a stale lock file means nothing.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_FILE = ".platform.lock"


class DataDirBusy(Exception):
    """The data directory is in use (a running platform, or a restore)."""


@contextmanager
def _locked(data_dir: Path, mode: int) -> Iterator[None]:
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise DataDirBusy(str(data_dir)) from exc
        yield
    finally:
        os.close(fd)  # releases the lock


@contextmanager
def running_in(data_dir: Path) -> Iterator[None]:
    """Mark ``data_dir`` as used by a running platform (several may share it)."""
    with _locked(data_dir, fcntl.LOCK_SH):
        yield


@contextmanager
def restoring_into(data_dir: Path) -> Iterator[None]:
    """Hold ``data_dir`` alone while its files are replaced; ``DataDirBusy`` if in use."""
    with _locked(data_dir, fcntl.LOCK_EX):
        yield


def is_empty(data_dir: Path) -> bool:
    """True when the directory is missing or holds nothing but the lock file."""
    if not data_dir.exists():
        return True
    return all(entry.name == LOCK_FILE for entry in data_dir.iterdir())
