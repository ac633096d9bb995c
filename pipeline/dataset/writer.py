"""DatasetWriter: stream rows into staging, checkpoint them, commit them into OUT.

OUT/.lock                       flock of the one writer (holds its pid)
OUT/_journal.json               only while a commit is being applied
OUT/_staging/files/*.tmp        this run's finished and open files
OUT/_staging/ckpt-NNNNNN.json   checkpoints (for --resume)
OUT/_staging/work/*.tmp         rewritten copies of existing files, made by commit
OUT/<table>/...                 the published datasets
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Literal

import pyarrow as pa

from pipeline.dataset import journal
from pipeline.dataset.csvfmt import CsvFormat
from pipeline.dataset.derive import DeriveInputs, jobs_rows
from pipeline.dataset.formats import FileFormat
from pipeline.dataset.fsutil import fsync_dir, os_errors, remove_tree, unlink_quietly
from pipeline.dataset.keys import Key, distinct_keys
from pipeline.dataset.lock import OutLock
from pipeline.dataset.parquetfmt import ParquetFormat
from pipeline.dataset.partition import conform, split
from pipeline.dataset.plan import CommitPlan, finish_prepared, plan_table, scan_table
from pipeline.dataset.staging import (
    Resumed,
    StagedFile,
    StagedWriters,
    checkpoint_record,
    load_checkpoints,
    save_checkpoint,
)
from pipeline.errors import OutputError
from pipeline.schema import JOB_INFO, JOBS, TABLES, TableSpec

STAGING = "_staging"
Format = Literal["parquet", "csv"]


class DatasetWriter:
    """The only writer of an output folder's table datasets; use it as a context manager."""

    def __init__(
        self,
        out_dir: str | Path,
        *,
        run_id: str,
        fmt: Format = "parquet",
        resume: bool = False,
        max_rows_per_file: int = 1_000_000,
        csv_bom: bool = False,
        csv_raw: bool = False,
    ) -> None:
        if fmt not in ("parquet", "csv"):
            raise ValueError(f"unknown format {fmt!r}")
        if max_rows_per_file < 1 or not run_id:
            raise ValueError("run_id must be non-empty and max_rows_per_file positive")
        self.out = Path(out_dir)
        self.run_id = run_id
        self.resume = resume
        self.max_rows_per_file = max_rows_per_file
        self._fmt: FileFormat = (
            CsvFormat(bom=csv_bom, raw=csv_raw) if fmt == "csv" else ParquetFormat()
        )
        self._staging = self.out / STAGING
        #: called with a phase name at each step of a commit; tests raise from it to crash
        self.fault_hook: Callable[[str], None] = _no_hook
        self._lock: OutLock | None = None
        self._writers: StagedWriters | None = None
        self._resumed: set[str] = set()
        self._reset_run_state(Resumed())

    def _reset_run_state(self, resumed: Resumed) -> None:
        self._files: list[StagedFile] = list(resumed.files)
        self._unrecorded: list[StagedFile] = []
        self._keys: dict[str, set[Key]] = {t: set(resumed.keys.get(t, ())) for t in TABLES}
        self._new_keys: dict[str, set[Key]] = {t: set() for t in TABLES}
        self._checkpoints = resumed.last_checkpoint
        self._next_seq = resumed.next_seq

    # -- context -------------------------------------------------------------------------

    def __enter__(self) -> DatasetWriter:
        if self.out.exists() and not self.out.is_dir():
            raise OutputError(f"{self.out}: not a folder")
        with os_errors(self.out):
            self.out.mkdir(parents=True, exist_ok=True)
        self._lock = OutLock.acquire(self.out)
        try:
            journal.roll_forward(self.out, self._staging, self.fault_hook)
            unlink_quietly(self.out / (journal.JOURNAL + ".tmp"))  # a journal never finished
            for name, spec in TABLES.items():
                # fail before a long fetch, not at its commit, on a misplaced file or folder
                scan_table(self.out / name, spec, self._fmt)
            self._open_staging()
        except BaseException:
            self._lock.release()
            self._lock = None
            raise
        return self

    def _open_staging(self) -> None:
        files_dir = self._staging / "files"
        resumed = Resumed()
        if self.resume:
            resumed = load_checkpoints(self._staging, self._fmt.name)
            keep = {f.staged_name for f in resumed.files}
            _discard_except(files_dir, keep)
            remove_tree(self._staging / "work")
        else:
            remove_tree(self._staging)
        with os_errors(files_dir):
            files_dir.mkdir(parents=True, exist_ok=True)
            fsync_dir(self._staging)
        self._resumed = set(resumed.items)
        self._reset_run_state(resumed)
        self._writers = self._new_writers()

    def _new_writers(self) -> StagedWriters:
        files_dir = self._staging / "files"
        return StagedWriters(
            files_dir, self._fmt, self.run_id, self.max_rows_per_file, self._next_seq
        )

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # checkpointed files stay in staging: they are what --resume continues from
        try:
            if self._writers is not None:
                self._writers.discard()
                self._writers = None
                # nothing to resume, and no journal that still needs the staged files
                if not self._checkpoints and not (self.out / journal.JOURNAL).exists():
                    _remove_quietly(self._staging)
        finally:
            if self._lock is not None:
                self._lock.release()
                self._lock = None

    def _active(self) -> StagedWriters:
        if self._writers is None:
            raise RuntimeError("DatasetWriter is not open: use it in a with block")
        return self._writers

    # -- writing -------------------------------------------------------------------------

    def write(self, table: str, batch: pa.RecordBatch) -> None:
        """Stage the rows of ``batch`` (all columns of the table, partition columns too)."""
        writers = self._active()
        spec = _spec(table)
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
        files_dir = self._staging / "files"
        with os_errors(files_dir):
            fsync_dir(files_dir)

    def resumed_items(self) -> set[str]:
        """Items that the interrupted run being resumed had checkpointed."""
        return set(self._resumed)

    # -- commit --------------------------------------------------------------------------

    def commit(self, replace: Mapping[str, Collection[tuple[object, ...]]]) -> dict[str, int]:
        """Publish the staged rows, first dropping existing rows whose keys are replaced.

        The keys of this run's own rows are always replaced too, so a commit never
        duplicates a row it publishes. Returns the rows published per table.
        """
        writers = self._active()
        wanted = {t: _normalise_keys(_spec(t), ks) for t, ks in replace.items()}
        self._take_finished(writers)
        plan = CommitPlan(self.out, self._staging / "files", self._staging / "work", self._fmt)
        remove_tree(plan.work_dir)  # copies left by a commit that failed before its journal
        with os_errors(plan.work_dir):
            plan.work_dir.mkdir()
        replaced = {t: self._keys[t] | wanted.get(t, set()) for t in TABLES}
        for name, spec in TABLES.items():
            if spec is not JOBS:
                staged = [f for f in self._files if f.table == name]
                plan_table(plan, spec, staged, replaced[name])
        # last: it reads the step rows that the plan above keeps
        jobs, touched = self._derive_jobs(writers, replaced["steps"], wanted)
        plan_table(plan, JOBS, jobs, touched)
        finish_prepared(plan)
        self.fault_hook("prepared")
        journal.write_journal(self.out, self.run_id, plan.actions)
        self.fault_hook("journal written")
        journal.apply(self.out, plan.actions, self.fault_hook)
        self.fault_hook("applied")
        journal.finish(self.out, self._staging, self.fault_hook)
        counts = {t: sum(f.rows for f in [*self._files, *jobs] if f.table == t) for t in TABLES}
        self._after_commit(writers)
        return counts

    def _derive_jobs(
        self, writers: StagedWriters, steps: set[Key], wanted: Mapping[str, set[Key]]
    ) -> tuple[list[StagedFile], set[Key]]:
        """Stage the new ``jobs`` rows of the jobs this commit touches (see derive.py)."""
        staged_dir = self._staging / "files"
        inputs = DeriveInputs(self.out, staged_dir, self._fmt, self._files, steps,
                              wanted.get(JOBS.name, set()))  # fmt: skip
        rows, touched = jobs_rows(inputs, self.run_id)
        for batch in rows.to_batches():
            for partition, part in split(batch, JOBS):
                writers.write(JOBS, partition, part)
        return writers.take_finished(), touched

    def _after_commit(self, writers: StagedWriters) -> None:
        """Fresh staging, so the same writer may stage and commit again."""
        self._next_seq = writers.next_seq
        self._reset_run_state(Resumed(next_seq=writers.next_seq))
        self._resumed = set()
        files_dir = self._staging / "files"
        with os_errors(files_dir):
            files_dir.mkdir(parents=True, exist_ok=True)
        self._writers = self._new_writers()


def _no_hook(phase: str) -> None:
    pass


def _spec(table: str) -> TableSpec:
    try:
        return TABLES[table]
    except KeyError:
        raise ValueError(f"unknown table {table!r}; tables are {', '.join(TABLES)}") from None


def _normalise_keys(spec: TableSpec, keys: Collection[tuple[object, ...]]) -> set[Key]:
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


def _remove_quietly(staging: Path) -> None:
    """Drop a staging folder that nothing can resume from; a failure here is not the news."""
    with contextlib.suppress(OutputError):
        remove_tree(staging)


def _discard_except(folder: Path, keep: set[str]) -> None:
    """Delete staged files no checkpoint names: their items are fetched again."""
    if not folder.is_dir():
        return
    with os_errors(folder):
        for path in folder.iterdir():
            if path.name not in keep:
                path.unlink()
