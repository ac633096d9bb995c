"""A large site's week, scaled down: write throughput (Parquet, Delta), size on disk, and the
time of every sql/metrics/*.sql in DuckDB and in Spark local mode, at two scales.

The target week is 1,000,000 steps and 100,000,000 host rows (100 hosts per step). The
default runs 1/100 (10,000 steps, 1,000,000 host rows) and 1/10 (100,000 steps, 10,000,000
host rows) of it, so the growth from 1x to 10x can be read off and extrapolated to the full
week. Rows are synthetic (numpy), shaped like the simulator's: 20 businesses, 5 steps per
job, 200 step names, 50 operators, 5 % failed steps, 2 % failed hosts, a pool of 50,000
hosts, start times over 7 days. No API is called: this measures the writers and the engines.

    python -m benchmarks scale                       # make bench-scale
    python -m benchmarks.bench_scale --scales 0.001,0.01 --no-spark
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.dataset import DatasetWriter
from pipeline.report.dataset import connect, locate
from pipeline.report.metrics import metric_files
from pipeline.schema import STEP_HOSTS, STEPS

TARGET_STEPS = 1_000_000
HOSTS_PER_STEP = 100
CHUNK_STEPS = 2_000
WEEK_START = datetime(2026, 11, 22, tzinfo=UTC)
_NAMES = pa.array([f"step {i}" for i in range(200)])
_USERS = pa.array([f"user{i}" for i in range(50)])
_IPS = pa.array([f"10.1.{h // 250}.{h % 250}" for h in range(50_000)])


def _steps(ids: np.ndarray, rng: np.random.Generator) -> pa.RecordBatch:
    n = len(ids)
    failed = rng.random(n) < 0.05
    start_s = rng.integers(0, 7 * 86400, n)
    start = pa.array((int(WEEK_START.timestamp()) + start_s) * 1_000_000, pa.int64())
    total = rng.exponential(30.0, n).round(3)
    total_us = pa.array((total * 1e6).round().astype(np.int64))
    cols: dict[str, Any] = {
        "bk_biz_id": (ids % 20) + 1,
        "job_instance_id": ids // 5,
        "step_instance_id": ids,
        "step_id": ids % 1000,
        "name": _NAMES.take(pa.array(ids % 200)),
        "operator": _USERS.take(pa.array(ids % 50)),
        "step_type": np.where(ids % 3 == 0, 2, 1),
        "step_type_name": np.where(ids % 3 == 0, "file", "script"),
        "status": np.where(failed, 4, 3),
        "status_name": np.where(failed, "Failed", "Success"),
        "outcome": np.where(failed, "failed", "success"),
        "is_finished": np.ones(n, bool),
        "retry_count": np.zeros(n, np.int32),
        "start_time": start.cast(pa.timestamp("us", tz="UTC")),
        "end_time": pc.add(start, total_us).cast(pa.timestamp("us", tz="UTC")),
        "total_time_s": total,
        "total_ip_num": np.full(n, HOSTS_PER_STEP),
        "hosts_complete": np.ones(n, bool),
        "fetched_at": pa.array([WEEK_START] * n, pa.timestamp("us", tz="UTC")),
        "run_id": np.full(n, "bench"),
        "day": _days(start_s),
    }
    return _batch(STEPS.schema, cols, n)


def _days(start_s: np.ndarray) -> np.ndarray:
    days = np.array([f"2026-11-{22 + d:02d}" for d in range(8)])
    return days[(start_s + 8 * 3600) // 86400]  # the day in Asia/Shanghai


def _hosts(steps: pa.RecordBatch, rng: np.random.Generator) -> pa.RecordBatch:
    per = HOSTS_PER_STEP
    n = steps.num_rows * per
    pick = np.repeat(np.arange(steps.num_rows), per)
    host = rng.integers(0, 50_000, n)
    failed = rng.random(n) < 0.02
    cols: dict[str, Any] = {
        c: steps.column(c).take(pa.array(pick))
        for c in ("bk_biz_id", "job_instance_id", "step_instance_id", "run_id", "day")
    }
    cols |= {
        "bk_cloud_id": np.zeros(n, np.int64),
        "ip": _IPS.take(pa.array(host)),
        "result_type": np.where(failed, 104, 9),
        "result_type_text": np.where(failed, "Script execution failed", "Success"),
        "outcome": np.where(failed, "failed", "success"),
        "bk_host_id": host,
    }
    return _batch(STEP_HOSTS.schema, cols, n)


def _batch(schema: pa.Schema, cols: dict[str, Any], n: int) -> pa.RecordBatch:
    arrays = [
        pa.array(cols[f.name]).cast(f.type) if f.name in cols else pa.nulls(n, f.type)
        for f in schema
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def week(steps: int, seed: int = 7) -> Iterator[tuple[pa.RecordBatch, pa.RecordBatch]]:
    """The synthetic week: (steps, step_hosts) batches of CHUNK_STEPS steps."""
    rng = np.random.default_rng(seed)
    for first in range(0, steps, CHUNK_STEPS):
        ids = np.arange(first, min(steps, first + CHUNK_STEPS), dtype=np.int64) + 1
        batch = _steps(ids, rng)
        yield batch, _hosts(batch, rng)


def _size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _write(out: Path, fmt: str, steps: int) -> dict[str, float]:
    """Write the week with the writer of ``fmt``; rows, seconds, bytes."""
    batches = list(week(steps))  # made before the clock starts: the writer is measured
    writer = _writer(out, fmt)
    rows = 0
    started = time.perf_counter()
    with writer as w:
        for s, h in batches:
            w.write("steps", s)
            w.write("step_hosts", h)
            rows += s.num_rows + h.num_rows
        w.commit({})
    seconds = time.perf_counter() - started
    tables = ("steps", "step_hosts", "fetch_errors", "jobs")
    size = sum(_size(out / t) for t in tables if (out / t).exists())
    return {"rows": rows, "seconds": seconds, "bytes": size}


def _writer(out: Path, fmt: str) -> Any:
    if fmt == "delta":
        from pipeline.delta.tables import DeltaStore
        from pipeline.delta.writer import DeltaWriter

        return DeltaWriter(DeltaStore(out.as_posix()), run_id="bench", staging=out / "_stage")
    return DatasetWriter(out, run_id="bench")


def _timed(run: Callable[[], Any]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def duckdb_times(out: Path) -> dict[str, float]:
    dataset = locate(out)
    with connect(dataset) as con:
        return {n: _timed(lambda q=q: con.execute(q).fetchall()) for n, q in metric_files().items()}


def spark_times(out: Path) -> dict[str, float]:
    from pipeline.sparkviews import local_session, register_views

    spark = local_session("bkjob-export-bench")
    try:
        register_views(spark, out)
        queries = {n: q.strip().rstrip(";") for n, q in metric_files().items()}
        return {n: _timed(lambda q=q: spark.sql(q).collect()) for n, q in queries.items()}
    finally:
        spark.stop()


def measure(root: Path, scale: float, spark: bool) -> dict[str, Any]:
    steps = int(TARGET_STEPS * scale)
    found: dict[str, Any] = {"scale": scale, "steps": steps}
    for fmt in ("parquet", "delta"):
        found[fmt] = _write(root / fmt, fmt, steps)
        print(f"  {fmt}: {_rate(found[fmt])}", flush=True)
    found["duckdb"] = duckdb_times(root / "parquet")
    found["duckdb_delta"] = duckdb_times(root / "delta")
    found["spark"] = spark_times(root / "parquet") if spark else {}
    return found


def _rate(w: dict[str, float]) -> str:
    return f"{w['rows'] / w['seconds']:,.0f} rows/s, {w['bytes'] / 2**20:,.1f} MiB"


def _fmt_s(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


def _growth(a: float | None, b: float | None) -> str:
    return "-" if not a or b is None else f"x{b / a:.1f}"


def report(runs: list[dict[str, Any]]) -> str:
    """The figures as the Markdown tables of docs/scale.md."""
    lo, hi = runs[0], runs[-1]
    lines = ["| write | " + " | ".join(f"{r['steps']:,} steps" for r in runs) + " |"]
    lines.append("|---|" + "---|" * len(runs))
    for fmt in ("parquet", "delta"):
        lines.append(f"| {fmt} | " + " | ".join(_rate(r[fmt]) for r in runs) + " |")
    lines += [
        "",
        "| metric (s) | DuckDB lo | DuckDB hi | growth | DuckDB/Delta hi | "
        "Spark lo | Spark hi | growth |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name in sorted(lo["duckdb"]):
        d0, d1 = lo["duckdb"][name], hi["duckdb"][name]
        s0, s1 = lo["spark"].get(name), hi["spark"].get(name)
        dd = hi["duckdb_delta"][name]
        lines.append(
            f"| {name} | {_fmt_s(d0)} | {_fmt_s(d1)} | {_growth(d0, d1)} | "
            f"{_fmt_s(dd)} | {_fmt_s(s0)} | {_fmt_s(s1)} | {_growth(s0, s1)} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="bench_scale", description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="0.01,0.1", help="shares of the target week")
    parser.add_argument("--no-spark", action="store_true", help="skip Spark local mode")
    parser.add_argument("--keep", type=Path, help="write the datasets here and keep them")
    args = parser.parse_args(argv if argv is not None else [])
    scales = [float(x) for x in args.scales.split(",")]
    base = args.keep or Path(tempfile.mkdtemp(prefix="bench-scale-"))
    runs = []
    try:
        for scale in scales:
            print(f"scale {scale}: {int(TARGET_STEPS * scale):,} steps", flush=True)
            runs.append(measure(base / f"x{scale}", scale, not args.no_spark))
    finally:
        if args.keep is None:
            shutil.rmtree(base, ignore_errors=True)
    print(report(runs))


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
