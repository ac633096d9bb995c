"""Shared helpers for tests that run the pipeline against the simulator over loopback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds

from pipeline.config import Secret, Settings
from pipeline.ids import JobRef, Ref, StepRef
from pipeline.simulator import SimData

APP_CODE = "e2e-app"
APP_SECRET = "e2e-s3cret-VALUE"


def settings_for(base_url: str, out: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "api_url": base_url,
        "app_code": APP_CODE,
        "app_secret": Secret(APP_SECRET),
        "username": "admin",
        "out": out,
        "max_retries": 2,
        **overrides,
    }
    return Settings(**values)


def step_refs(data: SimData) -> list[Ref]:
    return [
        StepRef(s.bk_biz_id, s.job_instance_id, s.step_instance_id)
        for job in data.jobs()
        for s in job.steps
        if s.type != 3
    ]


def job_refs(data: SimData) -> list[Ref]:
    return [JobRef(j.bk_biz_id, j.job_instance_id) for j in data.jobs()]


def read_table(out: Path, table: str, fmt: str = "parquet") -> pa.Table:
    return ds.dataset(out / table, format=fmt, partitioning="hive").to_table()


def duckdb_count(out: Path, table: str, fmt: str = "parquet") -> int:
    reader = "read_parquet" if fmt == "parquet" else "read_csv"
    sql = f"SELECT count(*) FROM {reader}('{out}/{table}/**/*.{fmt}', hive_partitioning=true)"
    with duckdb.connect() as con:
        row = con.execute(sql).fetchone()
    assert row is not None
    return int(row[0])
