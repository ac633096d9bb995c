"""Low-level file operations: durable new files, fsync of folders, and OSError -> OutputError.

Every file the dataset writer creates goes through :class:`OutputFile`, whose bytes reach the
disk through :func:`_os_write`; tests patch ``_os_write`` (disk full) and ``_os_open``
(read-only folder) because chmod does not stop root.
"""

from __future__ import annotations

import contextlib
import io
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pipeline.errors import OutputError

#: bytes collected before one write(2); pyarrow hands over pages, CSV writes 1024-row chunks
WRITE_BUFFER = 1 << 20


def _os_open(path: str, flags: int, mode: int = 0o644) -> int:
    return os.open(path, flags | os.O_CLOEXEC, mode)


def _os_write(fd: int, data: memoryview) -> int:
    return os.write(fd, data)


def describe(exc: OSError) -> str:
    return exc.strerror or str(exc)


@contextlib.contextmanager
def os_errors(path: Path | str) -> Iterator[None]:
    """Turn an OSError into one OutputError line naming the path it happened on."""
    try:
        yield
    except OutputError:
        raise
    except OSError as exc:
        where = exc.filename if exc.filename else path
        raise OutputError(f"{where}: {describe(exc)}") from exc


class _RawFile(io.RawIOBase):
    def __init__(self, path: Path) -> None:
        super().__init__()
        self._fd = _os_open(str(path), os.O_WRONLY | os.O_CREAT | os.O_EXCL)
        #: set when the file is being abandoned: swallow the buffer instead of writing it
        self.discarding = False

    def writable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._fd

    def write(self, b: Any, /) -> int:
        view = memoryview(b).cast("B")
        if self.discarding:
            return len(view)
        written = 0
        while written < len(view):
            written += _os_write(self._fd, view[written:])
        return written

    def close(self) -> None:
        if not self.closed:
            try:
                os.close(self._fd)
            finally:
                super().close()


class OutputFile:
    """A new file (it must not exist) written through a buffer; finish() makes it durable."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._raw = _RawFile(path)
        self.stream = io.BufferedWriter(self._raw, WRITE_BUFFER)

    def finish(self) -> None:
        self.stream.flush()
        os.fsync(self._raw.fileno())
        self.stream.close()

    def discard(self) -> None:
        """Close without caring about the content; never raises (the file is garbage now)."""
        self._raw.discarding = True
        with contextlib.suppress(OSError, ValueError):
            self.stream.close()


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durably(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically: temp file, fsync, rename, fsync the folder."""
    tmp = path.with_name(path.name + ".tmp")
    with os_errors(path):
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        out = OutputFile(tmp)
        try:
            out.stream.write(data)
            out.finish()
        except BaseException:
            out.discard()
            raise
        os.replace(tmp, path)
        fsync_dir(path.parent)


def remove_tree(path: Path) -> None:
    with os_errors(path):
        try:
            shutil.rmtree(path)
        except FileNotFoundError:
            pass
        except NotADirectoryError:
            os.unlink(path)


def unlink_quietly(path: Path) -> None:
    """Delete ``path`` if it exists."""
    with os_errors(path), contextlib.suppress(FileNotFoundError):
        os.unlink(path)
