"""Helpers of the resilience, resume and observability tests: runs that never really
sleep, and the rows of an output folder in a comparable form."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds

from pipeline.retry import RetryPolicy
from pipeline.runner import Tuning
from pipeline.simulator import JOB_STATUS_PATH, STEP_STATUS_PATH, Simulator

#: columns that differ between two runs of the same data by design
RUN_COLUMNS = frozenset({"run_id", "fetched_at"})
SORT_KEYS = {
    "steps": ("step_instance_id",),
    "step_hosts": ("step_instance_id", "bk_cloud_id", "ip"),
    "fetch_errors": ("bk_biz_id", "job_instance_id", "step_instance_id"),
}


class FakeSleep:
    """Records the waits a run asked for instead of waiting (thread-safe)."""

    def __init__(self) -> None:
        self.waits: list[float] = []
        self._lock = threading.Lock()

    def __call__(self, seconds: float) -> None:
        with self._lock:
            self.waits.append(seconds)


def no_wait_tuning(max_retries: int, sleep: FakeSleep | None = None, **kw: Any) -> Tuning:
    """Zero backoff, and every remaining wait (server-given pauses) recorded, not slept."""
    policy = RetryPolicy(max_retries=max_retries, initial_s=0.0, max_s=0.0, jitter_s=0.0)
    return Tuning(retry_policy=policy, sleep=sleep or FakeSleep(), **kw)


def rows(out: Path, table: str, fmt: str = "parquet") -> list[dict[str, Any]]:
    """A table's rows without the per-run columns, in a stable order."""
    data = ds.dataset(out / table, format=fmt, partitioning="hive").to_table().to_pylist()
    keep = [{k: v for k, v in r.items() if k not in RUN_COLUMNS} for r in data]
    keys = SORT_KEYS[table]
    return sorted(keep, key=lambda r: tuple((r[k] is None, r[k] or 0) for k in keys))


def leftovers(out: Path) -> list[Path]:
    """What a finished run must not leave: temp files, staging, a journal."""
    return sorted(
        p
        for p in out.rglob("*")
        if p.is_file() and (p.suffix == ".tmp" or "_staging" in p.parts or "journal" in p.name)
    )


def step_calls(sim: Simulator, outcome: str | None = None) -> int:
    """Calls of get_step_instance_status: the fetching itself, not any probe or listing
    the run may make before it."""
    return sim.stats.count(STEP_STATUS_PATH, outcome)


def step_outcomes(sim: Simulator) -> dict[str, int]:
    return sim.stats.snapshot().get(STEP_STATUS_PATH, {})


def fetch_calls(sim: Simulator) -> int:
    """Calls of the two v2 status APIs (step and job): one per requested ID when all is well."""
    return step_calls(sim) + sim.stats.count(JOB_STATUS_PATH)
