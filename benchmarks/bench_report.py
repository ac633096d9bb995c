"""The report over a large synthetic dataset: 20,000 steps and 5,000,000 host rows (Parquet).

``python -m benchmarks report`` (or ``make bench``) builds the dataset once under
``$BKJOB_BENCH_DIR`` (default: a folder in the system temp dir), then times the nightly
report and the incident views of one day and of the whole week. Set ``BKJOB_BENCH_HOSTS`` for
another size. Prints wall and CPU time (the CPU time is the honest figure on a busy machine);
asserts nothing.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.dataset as pads

from pipeline import codes
from pipeline.report import render_report
from pipeline.schema import FETCH_ERRORS, STEP_HOSTS, STEPS, TableSpec

STEPS_N = 20_000
HOSTS_PER_STEP = 250
DAYS = 7
T0 = datetime(2026, 11, 23, tzinfo=UTC)
NAMES = [f"step {i:03d}" for i in range(180)] + [f"\u90e8\u7f72\u811a\u672c {i}" for i in range(20)]
STEP_STATUS = np.array([3] * 16 + [4, 4, 6, 9, 5, 8, 2, 1])
HOST_CODES = np.array([9] * 90 + [3] * 4 + [104, 101, 1, 13, 202, 311])


def _steps(rng: np.random.Generator) -> pa.Table:
    n = STEPS_N
    status = rng.choice(STEP_STATUS, n)
    start_s = rng.integers(0, DAYS * 86400, n)
    total = np.round(rng.lognormal(3, 1.5, n), 3)
    start = np.datetime64(T0.replace(tzinfo=None), "us") + start_s.astype("timedelta64[s]")
    ended = np.isin(status, list(codes.FINISHED_STATUSES))
    end = start + (total * 1e6).astype("timedelta64[us]")
    names = rng.choice(np.array(NAMES), n)
    cols = {
        "bk_biz_id": rng.choice([2, 3, 1000001], n),
        "job_instance_id": 9_000_000 + np.arange(n) // 5,
        "step_instance_id": 50_000_000 + np.arange(n),
        "step_id": np.arange(n) % 97,
        "name": names,
        "operator": rng.choice(["alice", "bob", "ops_bot"], n),
        "step_type": np.ones(n, dtype=np.int32),
        "step_type_name": np.full(n, "script"),
        "status": status.astype(np.int32),
        "status_name": [codes.step_status_name(int(s)) for s in status],
        "outcome": [codes.step_outcome(int(s)) for s in status],
        "is_finished": ended,
        "retry_count": np.zeros(n, dtype=np.int32),
        "start_time": start,
        "end_time": np.where(ended, end, np.datetime64("NaT")),
        "total_time_s": total,
        "hosts_complete": np.ones(n, dtype=bool),
        "fetched_at": np.full(n, np.datetime64("2026-11-30T02:00:00", "us")),
        "run_id": np.full(n, "bench"),
        "day": (start + np.timedelta64(8, "h")).astype("datetime64[D]").astype(str),
    }
    return _complete(
        STEPS, {k: pa.array(v, type=STEPS.schema.field(k).type) for k, v in cols.items()}
    )


def _by_code(code: np.ndarray, name: Callable[[int], str]) -> np.ndarray:
    """``name(code)`` for every element, computed once per distinct code."""
    uniq, inverse = np.unique(code, return_inverse=True)
    return np.array([name(int(c)) for c in uniq], dtype=object)[inverse]


def _hosts(rng: np.random.Generator, steps: pa.Table, per_step: int) -> pa.Table:
    n = steps.num_rows * per_step
    idx = np.repeat(np.arange(steps.num_rows), per_step)
    code = rng.choice(HOST_CODES, n)
    failed_step = np.asarray(steps.column("outcome").to_numpy(zero_copy_only=False)) == "failed"
    code = np.where(failed_step[idx] & (rng.random(n) < 0.3), 104, code).astype(np.int32)
    pool = np.array([f"10.{i // 65536}.{i // 256 % 256}.{i % 256}" for i in range(20_000)])
    cols = {
        "bk_biz_id": steps.column("bk_biz_id").take(idx),
        "job_instance_id": steps.column("job_instance_id").take(idx),
        "step_instance_id": steps.column("step_instance_id").take(idx),
        "bk_cloud_id": pa.array(np.zeros(n, dtype=np.int64)),
        "ip": pa.array(pool[(idx * 7 + np.tile(np.arange(per_step), steps.num_rows)) % 20_000]),
        "result_type": pa.array(code),
        "result_type_text": pa.array(_by_code(code, codes.host_result_name)),
        "outcome": pa.array(_by_code(code, codes.host_outcome)),
        "run_id": pa.array(np.full(n, "bench")),
        "day": steps.column("day").take(idx),
    }
    return _complete(STEP_HOSTS, cols)


def _complete(spec: TableSpec, cols: dict[str, Any]) -> pa.Table:
    """The table with every column of ``spec``, in order; the ones not given are null."""
    n = len(next(iter(cols.values())))
    return pa.table(
        {f.name: cols[f.name] if f.name in cols else pa.nulls(n, f.type) for f in spec.schema},
        schema=spec.schema,
    )


def build(root: Path, hosts: int) -> None:
    """Write the benchmark dataset under ``root`` (contract layout, Hive partitions)."""
    rng = np.random.default_rng(7)
    steps = _steps(rng)
    host_rows = _hosts(rng, steps, max(hosts // STEPS_N, 1))
    for spec, table in ((STEPS, steps), (STEP_HOSTS, host_rows)):
        pads.write_dataset(
            table, root / spec.name, format="parquet", partitioning=list(spec.partition_by),
            partitioning_flavor="hive", existing_data_behavior="delete_matching",
        )  # fmt: skip
    empty = FETCH_ERRORS.schema.empty_table()
    pads.write_dataset(empty, root / "fetch_errors", format="parquet")


def timed(label: str, call: Callable[[], object]) -> None:
    """Run ``call``; print its wall time and the CPU time of this process (all threads)."""
    start, cpu = time.perf_counter(), time.process_time()
    out = call()
    wall, used = time.perf_counter() - start, time.process_time() - cpu
    print(f"{label}: {wall:.2f} s wall, {used:.2f} s CPU -> {out}", flush=True)


def main() -> None:
    hosts = int(os.environ.get("BKJOB_BENCH_HOSTS", STEPS_N * HOSTS_PER_STEP))
    base = Path(os.environ.get("BKJOB_BENCH_DIR", Path(tempfile.gettempdir()) / "bkjob-bench"))
    root = base / f"hosts-{hosts}"
    if not (root / "step_hosts").is_dir():
        timed(f"build {STEPS_N:,} steps, {hosts:,} host rows", lambda: build(root, hosts) or root)
    print(f"{os.cpu_count()} CPUs; dataset {root}")
    timed("nightly report", lambda: render_report(root, base / "nightly.html"))
    timed(
        "incident view, one day",
        lambda: render_report(
            root, base / "incident.html", since="2026-11-26", until="2026-11-27"
        ),  # fmt: skip
    )
    timed(
        "incident view, the whole week",
        lambda: render_report(root, base / "week.html", since="2026-11-23", until="2026-12-01"),
    )
