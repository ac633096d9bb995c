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
from collections.abc import Collection, Iterator, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipeline.dataset.derive import read_part
from pipeline.dataset.fsutil import os_errors, remove_tree, write_durably
from pipeline.dataset.keys import Key
from pipeline.dataset.parquetfmt import ParquetFormat
from pipeline.dataset.staged import StagingWriter
from pipeline.dataset.staging import StagedFile
from pipeline.delta.derive import derive, jobs_of_steps
from pipeline.delta.tables import DeltaStore, ensure_table, replace_rows
from pipeline.schema import JOB_INFO, JOBS, TABLES, TableSpec

COMMIT = "commit.json"
#: tables merged from staged rows, in commit order; ``jobs`` is derived after them
DIRECT = ("steps", "step_hosts", "fetch_errors")


class DeltaWriter(StagingWriter):
    """Writes OUT's tables as Delta tables; use it as a context manager."""

    def __init__(self, store: DeltaStore, *, run_id: str, staging: str | Path,
                 resume: bool = False, max_rows_per_file: int = 1_000_000) -> None:  # fmt: skip
        super().__init__(run_id=run_id, staging=Path(staging), fmt=ParquetFormat(),
                         resume=resume, max_rows_per_file=max_rows_per_file)  # fmt: skip
        self.store = store

    # -- context -------------------------------------------------------------------------

    def _lock_dir(self) -> Path:
        with os_errors(self._staging):
            self._staging.mkdir(parents=True, exist_ok=True)
        return self._staging

    def _recover(self) -> None:
        for spec in TABLES.values():
            ensure_table(self.store, spec)
        self._roll_forward()

    def _clear_staging(self) -> None:
        _clear(self._staging)

    def _abandon_staging(self) -> None:
        if not (self._staging / COMMIT).exists():
            _clear(self._staging)

    # -- commit --------------------------------------------------------------------------

    def commit(self, replace: Mapping[str, Collection[tuple[object, ...]]]) -> dict[str, int]:
        """Merge the staged rows into the tables, first dropping rows whose keys are replaced
        (this run's own keys always). Returns the rows written per table."""
        writers, wanted = self._begin_commit(replace)
        keys = {t: self._keys[t] | wanted.get(t, set()) for t in DIRECT}
        touched = {int(str(k[0])) for k in wanted.get(JOBS.name, set())}
        dropped = [k[0] for k in keys["steps"] - self._keys["steps"]]  # replaced, not rewritten
        touched |= jobs_of_steps(self.store, dropped)
        record = _commit_record(self.run_id, self._files, keys, touched)
        write_durably(self._staging / COMMIT, json.dumps(record).encode())
        counts = self._apply(record)
        _clear(self._staging)
        self._restart(writers)
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
                part = read_part(self._fmt, spec, self._files_dir / f.staged_name,
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
