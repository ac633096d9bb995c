"""Synthetic rows for writer tests: every column of a table, the ones given by the test and
nulls elsewhere (no test functions here)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pyarrow as pa

from pipeline.schema import STEP_HOSTS, STEPS, TableSpec

START = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)


def batch(spec: TableSpec, n: int, **columns: Any) -> pa.RecordBatch:
    arrays = []
    for f in spec.schema:
        value = columns.get(f.name)
        if value is None:
            arrays.append(pa.nulls(n, f.type))
        elif isinstance(value, list):
            arrays.append(pa.array(value, f.type))
        else:
            arrays.append(pa.array([value] * n, f.type))
    return pa.RecordBatch.from_arrays(arrays, schema=spec.schema)


def steps(ids: list[int], run_id: str, *, biz: int = 2, outcome: str = "success") -> pa.RecordBatch:
    return batch(
        STEPS,
        len(ids),
        bk_biz_id=biz,
        job_instance_id=[i // 4 for i in ids],  # four steps per job
        step_instance_id=ids,
        name=[f"step {i % 5}" for i in ids],
        outcome=outcome,
        status=3 if outcome == "success" else 4,
        is_finished=True,
        start_time=START,
        end_time=START,
        total_time_s=[float(i % 7) for i in ids],
        fetched_at=START,
        run_id=run_id,
        day=["2026-11-27" if i % 2 else "2026-11-28" for i in ids],
    )


def hosts(ids: list[int], per_step: int, run_id: str, *, biz: int = 2) -> pa.RecordBatch:
    rows = [(i, h) for i in ids for h in range(per_step)]
    return batch(
        STEP_HOSTS,
        len(rows),
        bk_biz_id=biz,
        job_instance_id=[i // 4 for i, _ in rows],
        step_instance_id=[i for i, _ in rows],
        bk_cloud_id=0,
        ip=[f"10.0.{h // 250}.{h % 250}" for _, h in rows],
        result_type=9,
        outcome="success",
        run_id=run_id,
        day=["2026-11-27" if i % 2 else "2026-11-28" for i, _ in rows],
    )


def rounded(value: Any) -> Any:
    """``value`` with every float to 9 significant digits: sums and means of the same floats
    added in another order (another file layout, another engine) differ in the last bits."""
    if isinstance(value, float):
        return float(f"{value:.9g}")
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [rounded(v) for v in value]
    return value
