"""The dataset's tables as Spark SQL temp views, so sql/metrics/*.sql run on Spark unchanged.

    from pyspark.sql import SparkSession
    from pipeline.sparkviews import register_views
    spark = SparkSession.builder.config("spark.sql.session.timeZone", "UTC").getOrCreate()
    register_views(spark, "/data/bkjob")        # or s3a://bucket/prefix with hadoop-aws
    spark.sql(open("sql/metrics/headline.sql").read().rstrip().rstrip(";")).show()

Each table is ``spark.read.parquet(OUT/<table>)`` (Hive partitions from the folder names;
with ``spark.sql.sources.partitionColumnTypeInference.enabled=false`` ``day`` stays a string
as in the DuckDB views; ``bk_biz_id`` is cast to BIGINT); then layer 3 of sql/views.sql (the
portable convenience views) runs with ``CREATE OR REPLACE VIEW`` made a ``TEMP VIEW`` (Spark
does not store a view over temporary views). pyspark is not imported here: pass a session.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pipeline.resources import sql_dir
from pipeline.schema import TABLES

#: session settings that make Spark read the dataset as the DuckDB views do
SPARK_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
}


def portable_views() -> list[str]:
    """Layer 3 of sql/views.sql as Spark statements."""
    text = (sql_dir() / "views.sql").read_text(encoding="utf-8")
    portable = text[text.index("-- 3. convenience views") :]
    chunks = [re.sub(r"(?m)^\s*--.*$", "", s).strip() for s in portable.split(";\n")]
    return [
        c.rstrip(";").replace("CREATE OR REPLACE VIEW", "CREATE OR REPLACE TEMP VIEW")
        for c in chunks
        if c
    ]


def register_views(spark: Any, out: str | Path) -> None:
    """Temp views ``steps``, ``step_hosts``, ``fetch_errors``, ``jobs`` and layer 3 over the
    Parquet dataset at ``out`` (a local folder or any URI the session can read)."""
    for name, spec in TABLES.items():
        frame = spark.read.parquet(f"{str(out).rstrip('/')}/{name}")
        for col in spec.partition_by:
            kind = "bigint" if str(spec.schema.field(col).type) == "int64" else "string"
            frame = frame.withColumn(col, frame[col].cast(kind))
        frame.createOrReplaceTempView(name)
    for statement in portable_views():
        spark.sql(statement)


def local_session(app: str = "bkjob-export", cores: int = 2) -> Any:
    """A local-mode session with :data:`SPARK_CONF` (tests, benchmarks, a laptop)."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.master(f"local[{cores}]").appName(app)
    for key, value in {**SPARK_CONF, "spark.ui.enabled": "false",
                       "spark.sql.shuffle.partitions": str(4 * cores)}.items():  # fmt: skip
        builder = builder.config(key, value)
    return builder.getOrCreate()
