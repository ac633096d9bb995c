"""Spark runs the same SQL: sql/metrics/*.sql on PySpark (local mode) over a Parquet dataset
written by the pipeline give the same figures as DuckDB (the report's engine).

Spark's views: each table from ``spark.read.parquet(OUT/<table>)`` (Hive partitions found
from the folder names; partition type inference off, so ``day`` stays a string as in the
DuckDB views, and ``bk_biz_id`` is cast to BIGINT), then layer 3 of sql/views.sql (portable)
with ``CREATE OR REPLACE VIEW`` made ``... TEMP VIEW`` (Spark will not store a view over
temporary views), then every metric file unchanged.

One Spark session for the module (it takes 10-20 s to start). Without pyspark the module
fails under CI=true (pyspark is a test extra) and skips elsewhere, with the reason.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from pipeline.ids import StepRef
from pipeline.report.dataset import connect, locate
from pipeline.report.metrics import metric_files, run_metrics
from pipeline.resources import sql_dir
from pipeline.runner import fetch
from pipeline.schema import TABLES
from pipeline.simulator import SimData, Simulator
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


def spark_session(app: str = "bkjob-export-sql") -> Any:
    from pyspark.sql import SparkSession

    return (
        SparkSession.builder.master("local[2]")
        .appName(app)
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
        .config("spark.driver.extraJavaOptions", "-Duser.timezone=UTC")
        .getOrCreate()
    )


def spark_views(spark: Any, out: Path) -> None:
    """The tables of ``out`` and layer 3 of sql/views.sql as Spark temp views."""
    for name, spec in TABLES.items():
        frame = spark.read.parquet(str(out / name))
        for col in spec.partition_by:
            frame = frame.withColumn(col, frame[col].cast(_spark_type(spec, col)))
        frame.createOrReplaceTempView(name)
    text = (sql_dir() / "views.sql").read_text(encoding="utf-8")
    portable = text[text.index("-- 3. convenience views") :]
    for statement in _statements(portable):
        spark.sql(statement.replace("CREATE OR REPLACE VIEW", "CREATE OR REPLACE TEMP VIEW"))


def _spark_type(spec: Any, col: str) -> str:
    return "bigint" if str(spec.schema.field(col).type) == "int64" else "string"


def _statements(script: str) -> list[str]:
    chunks = [re.sub(r"(?m)^\s*--.*$", "", s).strip() for s in script.split(";\n")]
    return [c.rstrip(";") for c in chunks if c]


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
    with Simulator(data, app_code=APP_CODE, app_secret=APP_SECRET) as sim:
        missing = [StepRef(2, 999_999_990 + i, 1) for i in range(3)]  # -> fetch_errors
        refs = step_refs(data)[:60] + job_refs(data)[20:] + missing
        assert fetch(settings_for(sim.base_url, root), refs).exit_code == 3
    return root


@pytest.fixture(scope="module")
def spark(out: Path) -> Iterator[Any]:
    session = spark_session()
    spark_views(session, out)
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
