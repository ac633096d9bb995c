"""DeltaWriter: the DatasetWriter interface (write / checkpoint / resumed_items / commit) over
Delta Lake tables, for ``--format delta``.

Rows are staged as Parquet in a LOCAL folder of this writer (``staging``, one per OUT and
shard: see :func:`pipeline.outputs.open_writer`), checkpointed there for ``--resume`` exactly
like the local writer's, and merged into the tables at commit:

    staging/.lock              flock: one writer per staging folder
    staging/files/*.tmp        staged Parquet files (no partition columns)
    staging/ckpt-NNNNNN.json   checkpoints
    staging/commit.json        only while a commit is being applied: its files, keys, and the
                               tables already done; whoever opens the staging next finishes it

Each table's commit is one Delta transaction (see tables.py); the four tables are committed
one after the other (steps, step_hosts, fetch_errors, then jobs derived from steps).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterable, Iterator, Mapping
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any

import pyarrow as pa

from pipeline.dataset.derive import read_part
from pipeline.dataset.fsutil import os_errors, remove_tree, write_durably
from pipeline.dataset.keys import Key, distinct_keys
from pipeline.dataset.lock import OutLock
from pipeline.dataset.parquetfmt import ParquetFormat
from pipeline.dataset.partition import conform, split
from pipeline.dataset.staging import (
    Resumed,
    StagedFile,
    StagedWriters,
    checkpoint_record,
    load_checkpoints,
    save_checkpoint,
)
from pipeline.dataset.writer import _normalise_keys, _spec
from pipeline.delta.derive import derive, jobs_of_steps
from pipeline.delta.tables import DeltaStore, ensure_table, replace_rows
from pipeline.schema import JOB_INFO, JOBS, TABLES, TableSpec

COMMIT = "commit.json"
#: tables merged from staged rows, in commit order; ``jobs`` is derived after them
DIRECT = ("steps", "step_hosts", "fetch_errors")


class DeltaWriter:
    """Writes OUT's tables as Delta tables; use it as a context manager."""

    def __init__(self, store: DeltaStore, *, run_id: str, staging: str | Path,
                 resume: bool = False, max_rows_per_file: int = 1_000_000) -> None:  # fmt: skip
        if max_rows_per_file < 1 or not run_id:
            raise ValueError("run_id must be non-empty and max_rows_per_file positive")
        self.store = store
        self.run_id = run_id
        self.resume = resume
        self.max_rows_per_file = max_rows_per_file
        self._staging = Path(staging)
        self._fmt = ParquetFormat()
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

    # -- context -------------------------------------------------------------------------

    def __enter__(self) -> DeltaWriter:
        with os_errors(self._staging):
            self._staging.mkdir(parents=True, exist_ok=True)
        self._lock = OutLock.acquire(self._staging)
        try:
            for spec in TABLES.values():
                ensure_table(self.store, spec)
            self._roll_forward()
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
            keep = {f.staged_name for f in resumed.files}
            _discard_except(self._staging / "files", keep)
        else:
            _clear(self._staging)
        with os_errors(self._staging):
            (self._staging / "files").mkdir(exist_ok=True)
        self._resumed = set(resumed.items)
        self._reset(resumed)
        self._writers = self._new_writers()

    def _new_writers(self) -> StagedWriters:
        return StagedWriters(self._staging / "files", self._fmt, self.run_id,
                             self.max_rows_per_file, self._next_seq)  # fmt: skip

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        try:
            if self._writers is not None:
                self._writers.discard()
                self._writers = None
                if not self._checkpoints and not (self._staging / COMMIT).exists():
                    _clear(self._staging)
        finally:
            if self._lock is not None:
                self._lock.release()
                self._lock = None

    def _active(self) -> StagedWriters:
        if self._writers is None:
            raise RuntimeError("DeltaWriter is not open: use it in a with block")
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
        finished = writers.take_finished()
        self._files += finished
        self._unrecorded += finished
        self._checkpoints += 1
        record = checkpoint_record(self._fmt.name, [str(i) for i in done_items],
                                   self._unrecorded, self._new_keys, writers.next_seq)  # fmt: skip
        save_checkpoint(self._staging, self._checkpoints, record)
        self._unrecorded = []
        self._new_keys = {t: set() for t in TABLES}

    def resumed_items(self) -> set[str]:
        return set(self._resumed)

    # -- commit --------------------------------------------------------------------------

    def commit(self, replace: Mapping[str, Collection[tuple[object, ...]]]) -> dict[str, int]:
        """Merge the staged rows into the tables, first dropping rows whose keys are replaced
        (this run's own keys always). Returns the rows written per table."""
        writers = self._active()
        wanted = {t: _normalise_keys(_spec(t), ks) for t, ks in replace.items()}
        self._files += writers.take_finished()
        keys = {t: self._keys[t] | wanted.get(t, set()) for t in DIRECT}
        touched = {int(str(k[0])) for k in wanted.get(JOBS.name, set())}
        dropped = [k[0] for k in keys["steps"] - self._keys["steps"]]  # replaced, not rewritten
        touched |= jobs_of_steps(self.store, dropped)
        record = _commit_record(self.run_id, self._files, keys, touched)
        write_durably(self._staging / COMMIT, json.dumps(record).encode())
        counts = self._apply(record)
        _clear(self._staging)
        with os_errors(self._staging):
            (self._staging / "files").mkdir(exist_ok=True)
        self._next_seq = writers.next_seq
        self._reset(Resumed(next_seq=writers.next_seq))
        self._resumed = set()
        self._writers = self._new_writers()
        return counts

    def _apply(self, record: dict[str, Any]) -> dict[str, int]:
        files = [_staged_file(f) for f in record["files"]]
        counts = {t: sum(f.rows for f in files if f.table == t) for t in TABLES}
        for name in DIRECT:
            if name in record["done"]:
                continue
            spec = TABLES[name]
            keys = _key_table(spec, record["keys"][name])
            if keys.num_rows or counts[name]:
                replace_rows(self.store, spec, keys, partial(self._staged, spec, files))
            self._done(record, name)
        staged_jobs = self._staged_table(TABLES["steps"], files, ["job_instance_id"])
        touched = set(record["touched"]) | set(staged_jobs.column(0).to_pylist())
        info = self._staged_table(JOB_INFO, files, JOB_INFO.column_names)
        jobs = derive(self.store, touched, info, record["run_id"])
        keys = pa.table({"job_instance_id": pa.array(sorted(touched), pa.int64())})
        if touched:
            replace_rows(self.store, JOBS, keys, lambda: iter(jobs.to_batches()))
        counts[JOBS.name] = jobs.num_rows
        return counts

    def _done(self, record: dict[str, Any], table: str) -> None:
        record["done"].append(table)
        write_durably(self._staging / COMMIT, json.dumps(record).encode())

    def _staged(self, spec: TableSpec, files: list[StagedFile]) -> Iterator[pa.RecordBatch]:
        for f in files:
            if f.table == spec.name:
                part = read_part(self._fmt, spec, self._staging / "files" / f.staged_name,
                                 f.partition, spec.column_names)  # fmt: skip
                yield from part.cast(spec.schema).to_batches()

    def _staged_table(self, spec: TableSpec, files: list[StagedFile], cols: list[str]) -> pa.Table:
        batches = list(self._staged(spec, files))
        table = (
            pa.Table.from_batches(batches, spec.schema) if batches else spec.schema.empty_table()
        )
        return table.select(cols)

    def _roll_forward(self) -> None:
        """Finish a commit that an earlier writer of this staging folder began."""
        path = self._staging / COMMIT
        if not path.exists():
            return
        with os_errors(path):
            record = json.loads(path.read_bytes())
        self._apply(record)
        _clear(self._staging)


def _commit_record(run_id: str, files: list[StagedFile], keys: dict[str, set[Key]],
                   touched: set[int]) -> dict[str, Any]:  # fmt: skip
    return {
        "version": 1,
        "run_id": run_id,
        "files": [[f.table, list(f.partition), f.name, f.rows] for f in files],
        "keys": {t: [list(k) for k in ks] for t, ks in keys.items()},
        "touched": sorted(touched),
        "done": [],
    }


def _staged_file(raw: list[Any]) -> StagedFile:
    table, part, name, rows = raw
    return StagedFile(str(table), tuple(map(str, part)), str(name), int(rows))


def _key_table(spec: TableSpec, keys: list[list[object]]) -> pa.Table:
    cols = {c: pa.array([k[i] for k in keys], spec.schema.field(c).type) for i, c in
            enumerate(spec.key)}  # fmt: skip
    return pa.table(cols)


def _clear(staging: Path) -> None:
    """Remove everything in the staging folder except its lock file."""
    if not staging.is_dir():
        return
    with os_errors(staging):
        for path in staging.iterdir():
            if path.name != ".lock":
                remove_tree(path)


def _discard_except(folder: Path, keep: set[str]) -> None:
    if not folder.is_dir():
        return
    with os_errors(folder):
        for path in folder.iterdir():
            if path.name not in keep:
                path.unlink()
