"""Run the metric queries of ``sql/metrics/*.sql`` (and ``sql/incident/*.sql``) and return
their rows."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import duckdb

from pipeline.report.dataset import Dataset, dataset_error
from pipeline.resources import sql_dir

#: one result row: column name -> value (int, float, str, datetime, bool or None)
Row = dict[str, Any]


def metric_files(folder: str = "metrics") -> dict[str, str]:
    """Every query in ``sql/<folder>`` by name (the file name without ``.sql``)."""
    found = sorted((sql_dir() / folder).glob("*.sql"))
    return {p.stem: p.read_text(encoding="utf-8") for p in found}


def query(con: duckdb.DuckDBPyConnection, sql: str) -> list[Row]:
    """The rows of ``sql`` as dicts."""
    cursor = con.execute(sql)
    columns = [d[0] for d in cursor.description or ()]
    return [dict(zip(columns, values, strict=True)) for values in cursor.fetchall()]


def run_metrics(
    con: duckdb.DuckDBPyConnection,
    dataset: Dataset,
    folder: str = "metrics",
    names: Collection[str] | None = None,
) -> dict[str, list[Row]]:
    """The rows of the queries in ``sql/<folder>`` (all, or those in ``names``), by name.

    Raises :class:`OutputError` if DuckDB fails.
    """
    results: dict[str, list[Row]] = {}
    try:
        for name, sql in metric_files(folder).items():
            if names is None or name in names:
                results[name] = query(con, sql)
    except duckdb.Error as exc:
        raise dataset_error(dataset, exc) from exc
    return results
