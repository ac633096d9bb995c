"""Shared helpers of the dataset tests: valid rows for any table, and ways to read OUT back."""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds

from pipeline.schema import TABLES

Replace = Mapping[str, Collection[tuple[object, ...]]]
T0 = datetime(2026, 11, 29, 3, 15, 14, tzinfo=UTC)
DAY = "2026-11-29"


def _default(name: str, type_: pa.DataType, i: int) -> object:
    if name in ("step_instance_id",):
        return i
    if name == "job_instance_id":
        return 1000 + i // 10
    if name == "bk_biz_id":
        return 2
    if name == "day":
        return DAY
    if pa.types.is_timestamp(type_):
        return T0 + timedelta(seconds=i, microseconds=i)
    if pa.types.is_integer(type_):
        return i % 7
    if pa.types.is_floating(type_):
        return i * 1.5
    if pa.types.is_boolean(type_):
        return i % 2 == 0
    return f"{name}-{i}"


def make_batch(table: str, ids: Any, **columns: Any) -> pa.RecordBatch:
    """Rows of ``table`` for the given ids (step_instance_id for every table); a keyword
    gives a column one value for all rows, or a list of values."""
    spec = TABLES[table]
    ids = list(ids)
    arrays = []
    for field in spec.schema:
        if field.name in columns:
            value = columns[field.name]
            values = list(value) if isinstance(value, list | range) else [value] * len(ids)
        else:
            values = [_default(field.name, field.type, i) for i in ids]
        arrays.append(pa.array(values, field.type))
    return pa.RecordBatch.from_arrays(arrays, schema=spec.schema)


def no_rows(**rows: int) -> dict[str, int]:
    """A commit's counts: every table 0 but the ones given (new tables need no test change)."""
    return {**dict.fromkeys(TABLES, 0), **rows}


def read_pa(out: Path, table: str, fmt: str = "parquet") -> pa.Table:
    dataset = ds.dataset(out / table, format=fmt, partitioning="hive")
    return dataset.to_table()


def duck_source(out: Path, table: str, fmt: str = "parquet") -> str:
    """What a BI user types: the table folder's glob with Hive partitioning."""
    reader = "read_parquet" if fmt == "parquet" else "read_csv"
    glob = (out / table / f"**/*.{fmt}").as_posix()
    return f"{reader}('{glob}', hive_partitioning=true)"


def duck(sql: str) -> list[tuple[Any, ...]]:
    with duckdb.connect() as con:
        return con.sql(sql).fetchall()


def duck_count(out: Path, table: str, fmt: str = "parquet") -> int:
    return int(duck(f"select count(*) from {duck_source(out, table, fmt)}")[0][0])


def duck_columns(out: Path, table: str, fmt: str = "parquet") -> list[str]:
    with duckdb.connect() as con:
        return list(con.sql(f"select * from {duck_source(out, table, fmt)}").columns)


def rows(out: Path, table: str, fmt: str = "parquet") -> list[dict[str, Any]]:
    """Every row of a table as dicts, partition columns as strings, in a stable order."""
    data = read_pa(out, table, fmt)
    found = data.to_pylist()
    for row in found:
        for col in TABLES[table].partition_by:
            if col in row:
                row[col] = str(row[col])
    return sorted(found, key=repr)


Snapshot = dict[str, list[dict[str, Any]]]


def snapshot(out: Path) -> Snapshot:
    return {t: rows(out, t) for t in TABLES}


def digest(out: Path) -> dict[str, str]:
    """Path -> content hash of every file under the table folders."""
    found = {}
    for table in TABLES:
        for path in sorted((out / table).rglob("*")):
            if path.is_file():
                found[path.relative_to(out).as_posix()] = hashlib.sha256(
                    path.read_bytes()
                ).hexdigest()
    return found


def data_files(out: Path, ext: str = ".parquet", tables: tuple[str, ...] = ()) -> list[str]:
    """Data files under ``out`` (only those of ``tables`` when given), relative, sorted."""
    found = sorted(p.relative_to(out).as_posix() for p in out.rglob(f"*{ext}"))
    return [f for f in found if not tables or f.split("/")[0] in tables]
