"""Run the metric queries of ``sql/metrics/*.sql`` and return their rows."""

from __future__ import annotations

from typing import Any

import duckdb

from pipeline.report.dataset import Dataset, dataset_error
from pipeline.resources import sql_dir

#: one result row: column name -> value (int, float, str, datetime, bool or None)
Row = dict[str, Any]


def metric_files() -> dict[str, str]:
    """Every metric query by name (the file name without ``.sql``)."""
    folder = sql_dir() / "metrics"
    return {p.stem: p.read_text(encoding="utf-8") for p in sorted(folder.glob("*.sql"))}


def query(con: duckdb.DuckDBPyConnection, sql: str) -> list[Row]:
    """The rows of ``sql`` as dicts."""
    cursor = con.execute(sql)
    columns = [d[0] for d in cursor.description or ()]
    return [dict(zip(columns, values, strict=True)) for values in cursor.fetchall()]


def run_metrics(con: duckdb.DuckDBPyConnection, dataset: Dataset) -> dict[str, list[Row]]:
    """The rows of every metric query, by name; :class:`OutputError` if DuckDB fails."""
    results: dict[str, list[Row]] = {}
    try:
        for name, sql in metric_files().items():
            results[name] = query(con, sql)
    except duckdb.Error as exc:
        raise dataset_error(dataset, exc) from exc
    return results
