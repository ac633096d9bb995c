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


def _run_starts(batch: pa.RecordBatch, cols: list[str]) -> list[int]:
    """Row indexes where a run of equal partition values begins (0 always)."""
    n = batch.num_rows
    change = np.zeros(max(n - 1, 0), dtype=bool)
    for c in cols:
        col = batch.column(c)
        differs = pc.fill_null(pc.not_equal(col.slice(1), col.slice(0, n - 1)), True)
        change |= differs.to_numpy(zero_copy_only=False)
    return [0, *(np.flatnonzero(change) + 1).tolist()]


def split(batch: pa.RecordBatch, spec: TableSpec) -> Iterator[tuple[Partition, pa.RecordBatch]]:
    """(Hive folder names, rows without the partition columns) for each partition in batch.

    A step's rows are contiguous and share one partition, so a batch is a few runs of equal
    partition values; a partition's rows are copied out of the batch (one slice when the whole
    batch is one run), so a buffered part never keeps a big batch alive."""
    cols = list(spec.partition_by)
    keep = spec.file_schema.names
    if not cols:
        yield (), batch
        return
    if batch.num_rows == 0:
        return
    starts = _run_starts(batch, cols)
    runs: dict[Partition, list[tuple[int, int]]] = {}
    for start, end in zip(starts, [*starts[1:], batch.num_rows], strict=True):
        part = tuple(segment(c, batch.column(c)[start].as_py()) for c in cols)
        runs.setdefault(part, []).append((start, end - start))
    data = batch.select(keep)
    if len(runs) == 1:
        yield next(iter(runs)), data
        return
    for part, slices in runs.items():
        rows = np.concatenate([np.arange(start, start + n) for start, n in slices])
        yield part, data.take(pa.array(rows))
