"""StagingWriter: the staging side shared by DatasetWriter and DeltaWriter.

Both writers stage rows in ``<staging>/files`` (see staging.py), checkpoint them for
``--resume`` and hold a lock while open; they differ in where the lock lives, how an
interrupted commit is finished, and how staged rows are committed.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Self

import pyarrow as pa

from pipeline.dataset.formats import FileFormat
from pipeline.dataset.fsutil import fsync_dir, os_errors
from pipeline.dataset.keys import Key, distinct_keys
from pipeline.dataset.lock import OutLock
from pipeline.dataset.partition import conform, split
from pipeline.dataset.staging import (
    Resumed,
    StagedFile,
    StagedWriters,
    checkpoint_record,
    load_checkpoints,
    save_checkpoint,
)
from pipeline.schema import JOB_INFO, JOBS, TABLES, TableSpec


class StagingWriter:
    """Stages, checkpoints and resumes rows; subclasses commit them. A context manager."""

    def __init__(
        self, *, run_id: str, staging: Path, fmt: FileFormat, resume: bool, max_rows_per_file: int
    ) -> None:
        if max_rows_per_file < 1 or not run_id:
            raise ValueError("run_id must be non-empty and max_rows_per_file positive")
        self.run_id = run_id
        self.resume = resume
        self.max_rows_per_file = max_rows_per_file
        self._staging = staging
        self._fmt = fmt
        self._lock: OutLock | None = None
        self._writers: StagedWriters | None = None
        self._resumed: set[str] = set()
        self._reset(Resumed())

    def _reset(self, resumed: Resumed) -> None:
        self._files: list[StagedFile] = list(resumed.files)
        self._unrecorded: list[StagedFile] = []
        self._keys: dict[str, set[Key]] = {t: set(resumed.keys.get(t, ())) for t in TABLES}
        self._new_keys: dict[str, set[Key]] = {t: set() for t in TABLES}
        self._checkpoints = resumed.last_checkpoint
        self._next_seq = resumed.next_seq

    @property
    def _files_dir(self) -> Path:
        return self._staging / "files"

    # -- what subclasses provide ---------------------------------------------------------

    def _lock_dir(self) -> Path:
        """Check and create the folder to lock; called before the lock is taken."""
        raise NotImplementedError

    def _recover(self) -> None:
        """Finish an interrupted commit and check the target; called holding the lock."""
        raise NotImplementedError

    def _clear_staging(self) -> None:
        """Drop everything staged (a fresh run, or one that committed)."""
        raise NotImplementedError

    def _discard_leftovers(self) -> None:
        """On --resume, drop what staging holds besides checkpoints and their files."""

    def _abandon_staging(self) -> None:
        """At exit with no checkpoint: drop the staging unless a commit still needs it."""
        raise NotImplementedError

    # -- context -------------------------------------------------------------------------

    def __enter__(self) -> Self:
        self._lock = OutLock.acquire(self._lock_dir())
        try:
            self._recover()
            self._open_staging()
        except BaseException:
            self._lock.release()
            self._lock = None
            raise
        return self

    def _open_staging(self) -> None:
        resumed = Resumed()
        if self.resume:
            resumed = load_checkpoints(self._staging, self._fmt.name)
            _discard_except(self._files_dir, {f.staged_name for f in resumed.files})
            self._discard_leftovers()
        else:
            self._clear_staging()
        with os_errors(self._files_dir):
            self._files_dir.mkdir(parents=True, exist_ok=True)
            fsync_dir(self._staging)
        self._resumed = set(resumed.items)
        self._reset(resumed)
        self._writers = self._new_writers()

    def _new_writers(self) -> StagedWriters:
        return StagedWriters(self._files_dir, self._fmt, self.run_id,
                             self.max_rows_per_file, self._next_seq)  # fmt: skip

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        # checkpointed files stay in staging: they are what --resume continues from
        try:
            if self._writers is not None:
                self._writers.discard()
                self._writers = None
                if not self._checkpoints:
                    self._abandon_staging()
        finally:
            if self._lock is not None:
                self._lock.release()
                self._lock = None

    def _active(self) -> StagedWriters:
        if self._writers is None:
            raise RuntimeError(f"{type(self).__name__} is not open: use it in a with block")
        return self._writers

    # -- writing -------------------------------------------------------------------------

    def write(self, table: str, batch: pa.RecordBatch) -> None:
        """Stage the rows of ``batch`` (all columns of the table, partition columns too)."""
        writers = self._active()
        spec = table_spec(table)
        if spec is JOBS:
            raise ValueError("the jobs table is derived from steps at commit; write steps")
        batch = conform(batch, spec)
        if batch.num_rows == 0:
            return
        fresh = distinct_keys(batch, spec) - self._keys[table]
        self._keys[table] |= fresh
        self._new_keys[table] |= fresh
        for partition, rows in split(batch, spec):
            writers.write(spec, partition, rows)

    def write_job_info(self, batch: pa.RecordBatch) -> None:
        """Stage job-level facts of job answers (JOB_INFO columns) for the ``jobs`` table."""
        batch = conform(batch, JOB_INFO)
        if batch.num_rows:
            self._active().write(JOB_INFO, (), batch)

    def checkpoint(self, done_items: Iterable[str]) -> None:
        """Make every row staged so far durable, then record ``done_items`` as complete."""
        writers = self._active()
        items = [str(i) for i in done_items]
        self._take_finished(writers)
        self._checkpoints += 1
        record = checkpoint_record(
            self._fmt.name, items, self._unrecorded, self._new_keys, writers.next_seq
        )
        save_checkpoint(self._staging, self._checkpoints, record)
        self._unrecorded = []
        self._new_keys = {t: set() for t in TABLES}

    def _take_finished(self, writers: StagedWriters) -> None:
        finished = writers.take_finished()
        self._files += finished
        self._unrecorded += finished
        with os_errors(self._files_dir):
            fsync_dir(self._files_dir)

    def resumed_items(self) -> set[str]:
        """Items that the interrupted run being resumed had checkpointed."""
        return set(self._resumed)

    # -- commit --------------------------------------------------------------------------

    def _begin_commit(
        self, replace: Mapping[str, Collection[tuple[object, ...]]]
    ) -> tuple[StagedWriters, dict[str, set[Key]]]:
        """The open writers (their files now finished) and the normalised ``replace`` keys."""
        writers = self._active()
        wanted = {t: normalise_keys(table_spec(t), ks) for t, ks in replace.items()}
        self._take_finished(writers)
        return writers, wanted

    def _restart(self, writers: StagedWriters) -> None:
        """Fresh staging after a commit, so the same writer may stage and commit again."""
        self._next_seq = writers.next_seq
        self._reset(Resumed(next_seq=writers.next_seq))
        self._resumed = set()
        with os_errors(self._files_dir):
            self._files_dir.mkdir(parents=True, exist_ok=True)
        self._writers = self._new_writers()


def table_spec(table: str) -> TableSpec:
    try:
        return TABLES[table]
    except KeyError:
        raise ValueError(f"unknown table {table!r}; tables are {', '.join(TABLES)}") from None


def normalise_keys(spec: TableSpec, keys: Collection[tuple[object, ...]]) -> set[Key]:
    """Keys as plain Python values of the key columns' types (numpy ints would not compare)."""
    rows = list(keys)
    if any(not isinstance(k, tuple | list) or len(k) != len(spec.key) for k in rows):
        raise ValueError(f"keys of table {spec.name} must be tuples of ({', '.join(spec.key)})")
    columns = []
    for i, col in enumerate(spec.key):
        try:
            columns.append(pa.array([k[i] for k in rows], spec.schema.field(col).type).to_pylist())
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise ValueError(f"bad key value for {spec.name}.{col}: {exc}") from exc
    return set(zip(*columns, strict=True)) if rows else set()


def _discard_except(folder: Path, keep: set[str]) -> None:
    """Delete staged files no checkpoint names: their items are fetched again."""
    if not folder.is_dir():
        return
    with os_errors(folder):
        for path in folder.iterdir():
            if path.name not in keep:
                path.unlink()
