"""The Delta Lake tables of an OUT: create them, check their schema, and replace rows by key.

Each table of :data:`pipeline.schema.TABLES` is one Delta table at ``<OUT>/<table>``,
partitioned as its :class:`TableSpec` says (partition values live in the Delta log, typed).

Replacing rows is ONE Delta transaction per table (a MERGE): the source holds one
``delete`` marker per replaced key and the new rows marked ``insert``; a target row whose key
equals a marker's is deleted, every new row is inserted. A key may have many rows
(``step_hosts``: every host of a step), so "refetched step with fewer hosts" drops the old
extra hosts too. Two writers that commit at the same time: the second one's commit fails
(Delta's optimistic concurrency: the first added files the second read) and is retried
against the new table version, so keys are never duplicated. Retries back off with jitter.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Final

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds
from deltalake import DeltaTable, WriterProperties
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError

from pipeline.errors import OutputError
from pipeline.schema import TableSpec

OP: Final = "__op"
#: commit attempts per table before the writer gives up (each re-reads the newest version)
MAX_ATTEMPTS: Final = 40
BACKOFF_CAP_S: Final = 5.0
_PROPS: Final = WriterProperties(compression="ZSTD")

Batches = Callable[[], Iterator[pa.RecordBatch]]


@dataclass(frozen=True)
class DeltaStore:
    """Where the tables are: a local absolute path or a URI (``s3://bucket/prefix``)."""

    root: str
    storage_options: dict[str, str] | None = field(default=None, repr=False)
    #: how a retry waits (tests and benchmarks may pass a no-op)
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)

    def uri(self, table: str) -> str:
        return f"{self.root.rstrip('/')}/{table}"

    def open(self, spec: TableSpec) -> DeltaTable:
        try:
            return DeltaTable(self.uri(spec.name), storage_options=self.storage_options)
        except TableNotFoundError:
            raise
        except (DeltaError, OSError) as exc:
            raise OutputError(f"{self.uri(spec.name)}: cannot open Delta table ({exc})") from exc


def ensure_table(store: DeltaStore, spec: TableSpec) -> None:
    """Create the table if it does not exist (a concurrent creator may win); check its schema."""
    try:
        table = store.open(spec)
    except TableNotFoundError:
        try:
            DeltaTable.create(store.uri(spec.name), spec.schema, mode="ignore",
                              partition_by=list(spec.partition_by) or None,
                              storage_options=store.storage_options)  # fmt: skip
        except CommitFailedError:
            pass  # another writer created it between our look and our commit
        except (DeltaError, OSError) as exc:
            raise OutputError(f"{store.uri(spec.name)}: cannot create Delta table ({exc})") from exc
        table = store.open(spec)
    check_schema(store.uri(spec.name), table, spec)


def _plain(t: pa.DataType) -> pa.DataType:
    if pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return pa.string()
    return t


def check_schema(where: str, table: DeltaTable, spec: TableSpec) -> None:
    """Columns of the table must have the spec's types; missing ones are added at commit
    (schema evolution: a newer version's new columns), unknown ones are left null."""
    have = {f.name: _plain(f.type) for f in pa.schema(table.schema())}
    wrong = [
        f"{f.name} is {have[f.name]}, expected {f.type}"
        for f in spec.schema
        if f.name in have and have[f.name] != f.type
    ]
    parts = list(table.metadata().partition_columns)
    if wrong or parts != list(spec.partition_by):
        why = wrong[0] if wrong else f"partitioned by {parts}, expected {list(spec.partition_by)}"
        raise OutputError(f"{where}: incompatible Delta table ({why})")


def source_schema(spec: TableSpec) -> pa.Schema:
    return pa.schema([*spec.schema, pa.field(OP, pa.string())])


def _markers(spec: TableSpec, keys: pa.Table) -> Iterator[pa.RecordBatch]:
    n = keys.num_rows
    if n == 0:
        return
    arrays = [
        keys.column(f.name).combine_chunks() if f.name in spec.key else pa.nulls(n, f.type)
        for f in spec.schema
    ]
    arrays.append(pa.array(["delete"] * n, pa.string()))
    yield from pa.Table.from_arrays(arrays, schema=source_schema(spec)).to_batches()


def _inserts(spec: TableSpec, rows: Batches) -> Iterator[pa.RecordBatch]:
    schema = source_schema(spec)
    for batch in rows():
        if batch.num_rows:
            op = pa.array(["insert"] * batch.num_rows, pa.string())
            yield pa.RecordBatch.from_arrays([*batch.columns, op], schema=schema)


def _predicate(spec: TableSpec, keys: pa.Table) -> str:
    def eq(col: str) -> str:
        nulls = keys.column(col).null_count > 0  # a null key matches a null (fetch_errors)
        return f"(t.{col} IS NOT DISTINCT FROM s.{col})" if nulls else f"t.{col} = s.{col}"

    return " AND ".join([*(eq(c) for c in spec.key), f"s.{OP} = 'delete'"])


def replace_rows(store: DeltaStore, spec: TableSpec, keys: pa.Table, rows: Batches) -> None:
    """Delete the rows whose key is in ``keys`` and insert ``rows``, in one transaction.

    ``keys``: distinct key tuples (the key columns of ``spec``); ``rows``: a function giving
    the new rows (all columns of ``spec``) each time it is called (a retry reads them again).
    """
    for attempt in range(1, MAX_ATTEMPTS + 1):
        source = pa.RecordBatchReader.from_batches(
            source_schema(spec), _chain(_markers(spec, keys), _inserts(spec, rows))
        )
        table = store.open(spec)
        merger = table.merge(source, _predicate(spec, keys), source_alias="s", target_alias="t",
                             merge_schema=True, writer_properties=_PROPS)  # fmt: skip
        merger = merger.when_matched_delete()
        merger = merger.when_not_matched_insert_all(predicate=f"s.{OP} = 'insert'",
                                                    except_cols=[OP])  # fmt: skip
        try:
            merger.execute()
            return
        except CommitFailedError as exc:
            if attempt == MAX_ATTEMPTS:
                raise OutputError(
                    f"{store.uri(spec.name)}: gave up after {attempt} conflicting commits ({exc})"
                ) from exc
        except (DeltaError, OSError) as exc:
            raise OutputError(f"{store.uri(spec.name)}: Delta commit failed ({exc})") from exc
        store.sleep(random.uniform(0, min(BACKOFF_CAP_S, 0.05 * 2**attempt)))


def _chain(*parts: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    for part in parts:
        yield from part


def read_rows(
    store: DeltaStore, spec: TableSpec, columns: list[str], where: pc.Expression | None
) -> pa.Table:
    """``columns`` of the table's current rows that satisfy ``where``."""
    try:
        dataset: ds.Dataset = store.open(spec).to_pyarrow_dataset()
        table = dataset.to_table(columns=columns, filter=where)
    except (DeltaError, OSError, pa.ArrowException) as exc:
        raise OutputError(f"{store.uri(spec.name)}: cannot read Delta table ({exc})") from exc
    fields = [spec.schema.field(c) for c in columns]
    return table.cast(pa.schema(fields))
