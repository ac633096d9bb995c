"""Spark runs the same SQL: sql/metrics/*.sql on PySpark (local mode) over a Parquet dataset
written by the pipeline give the same figures as DuckDB (the report's engine).

Spark's views come from :mod:`pipeline.sparkviews` (each table from ``spark.read.parquet``,
then layer 3 of sql/views.sql as temp views); every metric file runs unchanged.

One Spark session for the module (it takes 10-20 s to start). Without pyspark the module
fails under CI=true (pyspark is a test extra) and skips elsewhere, with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pipeline.ids import StepRef
from pipeline.report.dataset import connect, locate
from pipeline.report.metrics import metric_files, run_metrics
from pipeline.runner import fetch
from pipeline.simulator import SimData, Simulator
from pipeline.sparkviews import local_session, register_views
from tests.e2e_helpers import APP_CODE, APP_SECRET, job_refs, settings_for, step_refs
from tests.test_delta_helpers import rounded

if os.environ.get("CI") != "true":
    pytest.importorskip("pyspark", reason="pyspark is not installed (pip install '.[test]')")

# pyspark (py4j) opens sockets it closes from finalizers and imports distutils-era modules:
# only those warnings, from those modules, are allowed here (pytest turns others into errors)
pytestmark = [
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:pyspark.*"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning:py4j.*"),
]


def plain(value: Any) -> Any:
    """A value as both engines can be compared on: UTC-naive datetimes, floats for decimals."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, Decimal):
        return float(value)
    return value


def rows_of(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return list(rounded([{k: plain(v) for k, v in r.items()} for r in rows]))


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A Parquet dataset with every kind of row: steps and jobs of a seeded simulator."""
    data = SimData(seed=21, jobs=40)
    root = tmp_path_factory.mktemp("spark") / "out"
    # jobv3 served for the batch log API (step_host_logs); the steps still come from ESB v2
    with Simulator(data, app_code=APP_CODE, app_secret=APP_SECRET, jobv3=True) as sim:
        missing = [StepRef(2, 999_999_990 + i, 1) for i in range(3)]  # -> fetch_errors
        refs = step_refs(data)[:60] + job_refs(data)[20:] + missing
        settings = settings_for(sim.base_url, root, api="esb-v2", with_logs=True)
        assert fetch(settings, refs).exit_code == 3
    return root


@pytest.fixture(scope="module")
def spark(out: Path) -> Iterator[Any]:
    session = local_session("bkjob-export-test")
    register_views(session, out)
    yield session
    session.stop()


@pytest.fixture(scope="module")
def duckdb_results(out: Path) -> dict[str, list[dict[str, Any]]]:
    dataset = locate(out)
    with connect(dataset) as con:
        return run_metrics(con, dataset)


@pytest.mark.parametrize("name", sorted(metric_files()))
def test_spark_gives_duckdbs_figures(
    name: str, spark: Any, duckdb_results: dict[str, list[dict[str, Any]]]
) -> None:
    sql = metric_files()[name]
    got = [r.asDict() for r in spark.sql(sql.strip().rstrip(";")).collect()]
    want = duckdb_results[name]
    assert want, f"{name}: no rows in DuckDB; the fixture should exercise every metric"
    assert rows_of(got) == rows_of(want)
