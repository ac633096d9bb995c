"""Fitting a batch to its table and splitting it into Hive partitions."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.schema import TableSpec

#: a partition value must be a plain folder name: no '/', no leading '.' or '_' (pyarrow
#: would skip such a folder), nothing a URL-decoding reader would change
_SAFE_VALUE = re.compile(r"^-?[A-Za-z0-9][A-Za-z0-9._-]*$")
_ROW = "__row"

Partition = tuple[str, ...]


def conform(batch: pa.RecordBatch, spec: TableSpec) -> pa.RecordBatch:
    """The batch with exactly the table's columns, in order and with the table's types."""
    have = set(batch.schema.names)
    missing = [n for n in spec.column_names if n not in have]
    extra = sorted(have - set(spec.column_names))
    if missing or extra:
        what = f"missing {', '.join(missing)}" if missing else f"unknown {', '.join(extra)}"
        raise ValueError(f"batch for table {spec.name} does not fit its schema: {what}")
    batch = batch.select(spec.column_names)
    if batch.schema.equals(spec.schema, check_metadata=False):
        return batch
    try:
        return batch.cast(spec.schema)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
        raise ValueError(f"batch for table {spec.name} does not fit its schema: {exc}") from exc


def segment(column: str, value: object) -> str:
    text = value.isoformat() if isinstance(value, date) else str(value)
    if value is None or not _SAFE_VALUE.match(text):
        raise ValueError(f"partition column {column} has value {value!r}: not a folder name")
    return f"{column}={text}"


def _constant(arr: pa.Array) -> bool:
    return arr.null_count == 0 and bool(pc.count_distinct(arr).as_py() == 1)


def split(batch: pa.RecordBatch, spec: TableSpec) -> Iterator[tuple[Partition, pa.RecordBatch]]:
    """(Hive folder names, rows without the partition columns) for each partition in batch."""
    cols = list(spec.partition_by)
    keep = spec.file_schema.names
    if not cols:
        yield (), batch
        return
    if all(_constant(batch.column(c)) for c in cols):
        # the common case: a batch is one step's rows
        yield tuple(segment(c, batch.column(c)[0].as_py()) for c in cols), batch.select(keep)
        return
    table = pa.Table.from_batches([batch]).select(cols)
    table = table.append_column(_ROW, pa.array(np.arange(batch.num_rows, dtype=np.int64)))
    groups = table.group_by(cols, use_threads=False).aggregate([(_ROW, "list")])
    rows = groups.column(_ROW + "_list")
    for i in range(groups.num_rows):
        part = tuple(segment(c, groups.column(c)[i].as_py()) for c in cols)
        yield part, batch.take(rows[i].values).select(keep)
