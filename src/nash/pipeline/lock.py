"""One ``nash run`` per experiment directory: a lock file holding the owner's pid.

``<experiment>/.nash.lock`` is held with ``fcntl.flock`` for the whole run (the kernel drops the
lock when the process dies, even on SIGKILL) and names the holder: pid, host, start time and
command. A second run finds the lock held and is refused with the holder's pid. A lock file whose
owner is gone (the flock is free) is taken over, with a message naming the dead pid. The file is
emptied, not deleted, when the run ends (deleting a locked file lets a third process lock a
different inode).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from nash.errors import LockError

__all__ = ["experiment_lock", "lock_holder", "LOCK_NAME"]

LOCK_NAME = ".nash.lock"


def _holder(text: str) -> dict[str, str]:
    info = {}
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key and value:
            info[key.strip()] = value.strip()
    return info


@contextlib.contextmanager
def experiment_lock(root: str | os.PathLike[str], log: Callable[[str], None] = print) -> Iterator[Path]:
    """Hold ``root/.nash.lock`` while the body runs.

    Raises:
        LockError: another live process holds the lock (its pid, host and command are named).
    """
    path = Path(root) / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            info = _holder(_read(fd))
            pid = info.get("pid", "unknown")
            since = f" since {info['started']}" if "started" in info else ""
            cmd = f" ({info['command']})" if "command" in info else ""
            raise LockError(
                f"{root} is in use by another nash run: pid {pid} on {info.get('host', 'this host')}{since}{cmd}; "
                "wait for it to finish, or stop it, then run again"
            ) from None
        stale = _holder(_read(fd))
        if stale.get("pid"):
            log(
                f"taking over the lock of {root}: its holder (pid {stale['pid']}, started "
                f"{stale.get('started', '?')}) is no longer running"
            )
        os.ftruncate(fd, 0)
        record = (
            f"pid={os.getpid()}\nhost={socket.gethostname()}\nstarted={time.strftime('%Y-%m-%dT%H:%M:%S')}\n"
            f"command={' '.join(['nash', *sys.argv[1:]]) if sys.argv else 'nash'}\n"
        )
        os.pwrite(fd, record.encode(), 0)
        os.fsync(fd)
        try:
            yield path
        finally:
            os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # closing the descriptor releases the flock


def lock_holder(root: str | os.PathLike[str]) -> dict[str, str] | None:
    """The holder of ``root``'s lock (``pid``, ``host``, ``started``, ``command``) while a run holds it, else None.

    Only looks: never creates the lock file and never keeps the lock.
    """
    try:
        fd = os.open(Path(root) / LOCK_NAME, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except OSError:
            return _holder(_read(fd)) or {"pid": "unknown"}
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)


def _read(fd: int) -> str:
    try:
        return os.pread(fd, 4096, 0).decode("utf-8", "replace")
    except OSError:
        return ""
