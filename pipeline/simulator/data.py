"""SimData: the simulator's deterministic, lazily generated world of jobs.

Everything is a pure function of (seed, job index, options): two SimData with the same
arguments agree on every field, in any process. Jobs are generated on first use and kept
in a bounded LRU, so ``jobs=100_000`` costs no memory up front.
"""

from __future__ import annotations

import csv
import os
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import IO

from .hosts import build_hosts
from .layout import Layout
from .lru import LRU
from .model import SimJob, SimStep
from .plans import JobPlan, Overrides, StepPlan, job_sizes, ms_to_dt, plan_job
from .templates import build_plans

#: the default "now": fixed, so the same seed gives the same times on any day
DEFAULT_NOW = datetime(2026, 11, 28, 8, 0, 0, tzinfo=UTC)
IDS_HEADER = ("bk_biz_id", "job_instance_id", "step_instance_id")


class SimData:
    def __init__(
        self,
        seed: int = 7,
        jobs: int = 200,
        job3: bool = False,
        *,
        now: datetime | None = None,
        days: float = 3.0,
        steps_per_job: int | None = None,
        hosts_per_step: int | None = None,
        cache_jobs: int = 256,
    ) -> None:
        """``job3``: answer like Job 3.x behind ESB (see the package docs for the quirks).

        ``days``: jobs are created over this many days before ``now``.
        ``steps_per_job`` / ``hosts_per_step``: exact sizes for benchmarks (1..8 / 0..3000);
        with ``hosts_per_step`` there are no manual-confirmation steps.
        """
        now = now or DEFAULT_NOW
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        if steps_per_job is not None and not 1 <= steps_per_job <= 8:
            raise ValueError("steps_per_job must be between 1 and 8")
        if hosts_per_step is not None and not 0 <= hosts_per_step <= 3000:
            raise ValueError("hosts_per_step must be between 0 and 3000")
        self.seed = seed
        self.job_count = jobs
        self.job3 = job3
        self.now = now.astimezone(UTC)
        self.layout = Layout(seed, jobs, int(self.now.timestamp() * 1000), int(days * 86_400_000))
        self.templates = build_plans(seed)
        self._overrides = Overrides(steps_per_job, hosts_per_step)
        self._plans: LRU[int, JobPlan] = LRU(4096)
        self._jobs: LRU[int, SimJob] = LRU(cache_jobs)
        self._totals: tuple[int, int] | None = None
        self._totals_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"SimData(seed={self.seed}, jobs={self.job_count}, job3={self.job3})"

    # -- generation -----------------------------------------------------------------------
    def plan(self, index: int) -> JobPlan:
        """The cheap skeleton of job ``index`` (no hosts)."""
        return self._plans.get_or_make(
            index, lambda: plan_job(self.layout, self.templates, index, self._overrides)
        )

    def job_at(self, index: int) -> SimJob:
        if not 0 <= index < self.job_count:
            raise IndexError(index)
        return self._jobs.get_or_make(index, lambda: self._materialize(self.plan(index)))

    def _materialize(self, plan: JobPlan) -> SimJob:
        steps = tuple(self._step(plan, sp) for sp in plan.steps)
        finished = plan.end_ms is not None
        return SimJob(
            bk_biz_id=plan.bk_biz_id,
            job_instance_id=plan.job_instance_id,
            bk_job_id=plan.bk_job_id,
            name=plan.name,
            operator=plan.operator,
            status=plan.status,
            type=plan.type,
            start_way=plan.start_way,
            create_time=_dt(plan.create_ms),
            start_time=_dt(plan.start_ms),
            end_time=ms_to_dt(plan.end_ms),
            total_time_ms=(plan.end_ms or 0) - plan.start_ms if finished else None,
            steps=steps,
        )

    def _step(self, plan: JobPlan, sp: StepPlan) -> SimStep:
        hosts = build_hosts(self.seed, plan.biz_index, sp, self.layout.now_ms, self.job3)
        finished = sp.status not in (1, 2, 7) and sp.start_ms is not None
        end_ms = sp.end_ms if finished else None
        return SimStep(
            bk_biz_id=plan.bk_biz_id,
            job_instance_id=plan.job_instance_id,
            step_instance_id=sp.step_instance_id,
            step_id=sp.step_id,
            order=sp.order,
            name=sp.name,
            type=sp.type,
            operator=sp.operator,
            status=sp.status,
            execute_count=sp.execute_count,
            create_time=_dt(plan.create_ms),
            start_time=ms_to_dt(sp.start_ms),
            end_time=ms_to_dt(end_ms),
            total_time_ms=(end_ms - (sp.start_ms or 0)) if end_ms is not None else None,
            hosts=hosts,
        )

    # -- lookups --------------------------------------------------------------------------
    def jobs(self) -> Iterator[SimJob]:
        """Every job, oldest first (IDs and create times rise together)."""
        for i in range(self.job_count):
            yield self.job_at(i)

    def job_index(self, bk_biz_id: int, job_instance_id: int) -> int | None:
        i = self.layout.job_index(job_instance_id)
        if i is None or self.layout.business(i).bk_biz_id != bk_biz_id:
            return None
        return i

    def job(self, bk_biz_id: int, job_instance_id: int) -> SimJob | None:
        i = self.job_index(bk_biz_id, job_instance_id)
        return None if i is None else self.job_at(i)

    def step(self, bk_biz_id: int, job_instance_id: int, step_instance_id: int) -> SimStep | None:
        job = self.job(bk_biz_id, job_instance_id)
        return None if job is None else job.step(step_instance_id)

    def step_ids(self) -> Iterator[tuple[int, int, int]]:
        """(bk_biz_id, job_instance_id, step_instance_id) of every step, in job order."""
        for i in range(self.job_count):
            p = self.plan(i)
            for sp in p.steps:
                yield p.bk_biz_id, p.job_instance_id, sp.step_instance_id

    def write_ids_csv(self, dest: str | os.PathLike[str] | IO[str]) -> int:
        """Write the ``--ids`` CSV (header + one row per step); returns the row count."""
        if isinstance(dest, str | os.PathLike):
            with open(dest, "w", encoding="utf-8", newline="") as f:
                return self._write_ids(f)
        return self._write_ids(dest)

    def _write_ids(self, f: IO[str]) -> int:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(IDS_HEADER)
        n = 0
        for row in self.step_ids():
            w.writerow(row)
            n += 1
        return n

    # -- truth for tests ------------------------------------------------------------------
    def total_jobs(self) -> int:
        return self.job_count

    def total_steps(self) -> int:
        return self._count_totals()[0]

    def total_hosts(self) -> int:
        """Host rows over all steps (a host in two steps counts twice; manual steps have none)."""
        return self._count_totals()[1]

    def _count_totals(self) -> tuple[int, int]:
        with self._totals_lock:
            if self._totals is None:
                steps = hosts = 0
                for i in range(self.job_count):
                    sizes = job_sizes(self.layout, self.templates, i, self._overrides)
                    steps += len(sizes)
                    hosts += sum(sizes)
                self._totals = (steps, hosts)
            return self._totals


def _dt(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)
