"""Row keys: which rows of an existing file does a replace set hit.

Keys are tuples in TableSpec.key order; None matches a null (a whole-job fetch error has no
step). Matching is a semi-join in Arrow, with each key column split into (value, is_null) so
that null keys match each other, which SQL join semantics would not do.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Collection, Iterable

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.dataset.formats import FileFacts
from pipeline.schema import TableSpec

Key = tuple[object, ...]

#: the column whose row-group min/max statistics let a file be skipped without reading it
PRUNE_COLUMNS = ("step_instance_id", "job_instance_id")
_ROW = "__row"


def distinct_keys(batch: pa.RecordBatch, spec: TableSpec) -> set[Key]:
    table = pa.Table.from_batches([batch]).select(list(spec.key))
    if len(spec.key) == 1:
        return {(v,) for v in pc.unique(table.column(0)).to_pylist()}
    grouped = table.group_by(list(spec.key), use_threads=False).aggregate([])
    return {tuple(row[c] for c in spec.key) for row in grouped.to_pylist()}


def _encoded(table: pa.Table, cols: Iterable[str]) -> pa.Table:
    arrays: dict[str, pa.Array] = {}
    for c in cols:
        col = table.column(c)
        filler = "" if pa.types.is_string(col.type) else 0
        arrays[c] = pc.fill_null(col, pa.scalar(filler, col.type))
        arrays[c + "__null"] = pc.is_null(col)
    return pa.table(arrays)


def prune_column(spec: TableSpec) -> str | None:
    for col in PRUNE_COLUMNS:
        if col in spec.key and col not in spec.partition_by:
            return col
    return None


class KeyMatcher:
    def __init__(self, spec: TableSpec, keys: Collection[Key]) -> None:
        self.spec = spec
        self.empty = not keys
        cols: list[list[object]] = [[k[i] for k in keys] for i in range(len(spec.key))]
        types = [spec.schema.field(c).type for c in spec.key]
        wanted = pa.table(
            {c: pa.array(v, t) for c, v, t in zip(spec.key, cols, types, strict=True)}
        )
        self._wanted = _encoded(wanted, spec.key)
        self.prune_col = prune_column(spec)
        prune: list[object] = []
        if self.prune_col:
            prune = list(cols[spec.key.index(self.prune_col)])
        self._prune_null = any(v is None for v in prune)
        self._prune_values = sorted(v for v in prune if isinstance(v, int))

    def may_match(self, facts: FileFacts) -> bool:
        """False only when statistics prove that no row of the file has a wanted key."""
        if self.empty or facts.rows == 0:
            return False
        if facts.ranges is None:
            return True
        for r in facts.ranges:
            if self._prune_null and (r.null_count is None or r.null_count > 0):
                return True
            if not (isinstance(r.min, int) and isinstance(r.max, int)):
                if r.min is None and r.max is None:
                    continue  # an all-null row group
                return True
            i = bisect_left(self._prune_values, r.min)
            if i < len(self._prune_values) and self._prune_values[i] <= r.max:
                return True
        return False

    def match(self, keys: pa.Table) -> pa.Array:
        """A boolean per row of ``keys`` (the key columns of a file): is its key wanted?"""
        enc = _encoded(keys, self.spec.key)
        enc = enc.append_column(_ROW, pa.array(range(keys.num_rows), pa.int64()))
        on = [c for c in enc.column_names if c != _ROW]
        hits = enc.join(self._wanted, keys=on, join_type="left semi", use_threads=True)
        found = pc.is_in(enc.column(_ROW), value_set=hits.column(_ROW).combine_chunks())
        return found.combine_chunks()
