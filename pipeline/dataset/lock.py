"""One writer per output folder: an exclusive, non-blocking flock on OUT/.lock.

The kernel drops the lock when the process dies, so a killed run never leaves OUT locked.
The file holds the owner's pid for the refusal message; it is never deleted (deleting a lock
file lets two processes lock two different files).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from pipeline.dataset import fsutil
from pipeline.errors import OutputError

LOCK_NAME = ".lock"


class OutLock:
    def __init__(self, fd: int) -> None:
        self._fd: int | None = fd

    @classmethod
    def acquire(cls, out: Path) -> OutLock:
        path = out / LOCK_NAME
        with fsutil.os_errors(path):
            fd = fsutil._os_open(str(path), os.O_RDWR | os.O_CREAT)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            raise OutputError(
                f"another bkjob-export run is writing to {out} (pid {holder})"
            ) from None
        except OSError as exc:
            os.close(fd)
            raise OutputError(f"{path}: cannot lock ({fsutil.describe(exc)})") from exc
        lock = cls(fd)
        try:
            with fsutil.os_errors(path):
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except BaseException:
            lock.release()
            raise
        return lock

    def release(self) -> None:
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        with contextlib.suppress(OSError):
            fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
