"""The jobs table: derived from steps in the writer's commit, so it never disagrees with them.

``expected_jobs`` is an independent oracle in plain Python; every test that commits checks the
published jobs table against it, computed from the published steps table.
"""

from __future__ import annotations

import random
import shutil
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest

from pipeline.codes import OUTCOMES
from pipeline.dataset import DatasetWriter
from pipeline.flatten import Answer, FlattenContext, job_info
from pipeline.ids import JobRef, StepRef
from pipeline.runner import fetch
from pipeline.schema import JOB_INFO, JOBS, WORST_FIRST
from pipeline.simulator import SimData, Simulator
from tests.e2e_helpers import APP_CODE, APP_SECRET, settings_for
from tests.test_dataset_helpers import T0, make_batch, rows

SHANGHAI = ZoneInfo("Asia/Shanghai")


def expected_jobs(steps: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """The figure columns of jobs, from step rows, by the definitions in docs/schema.md."""
    by_job: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for s in steps:
        by_job[s["job_instance_id"]].append(s)
    found = {}
    for job, rs in by_job.items():
        starts = [r["start_time"] for r in rs if r["start_time"] is not None]
        ends = [r["end_time"] for r in rs if r["end_time"] is not None]
        times = [r["total_time_s"] for r in rs if r["total_time_s"] is not None]
        first, last = min(starts, default=None), max(ends, default=None)
        outcomes = [r["outcome"] if r["outcome"] in OUTCOMES else "unknown" for r in rs]
        day = min(r["day"] for r in rs if first is None or r["start_time"] == first)
        found[job] = {
            "bk_biz_id": min(int(r["bk_biz_id"]) for r in rs),
            "steps": len(rs),
            **{f"steps_{o}": outcomes.count(o) for o in OUTCOMES},
            "is_finished": all(r["is_finished"] for r in rs),
            "first_start": first,
            "last_end": last,
            "total_time_s": sum(times) if times else None,
            "span_s": (last - first).total_seconds() if first and last else None,
            "worst_outcome": min(outcomes, key=WORST_FIRST.index),
            "fetched_at": max(r["fetched_at"] for r in rs),
            "day": day,
        }
    return found


def published_jobs(out: Path, fmt: str = "parquet") -> dict[int, dict[str, Any]]:
    found = {r["job_instance_id"]: r for r in rows(out, "jobs", fmt)}
    assert len(found) == len(rows(out, "jobs", fmt)), "one row per job"
    return found


def assert_jobs_agree(out: Path, fmt: str = "parquet") -> dict[int, dict[str, Any]]:
    jobs = published_jobs(out, fmt)
    want = expected_jobs(rows(out, "steps", fmt))
    got = {j: {k: r[k] for k in want[j]} if j in want else r for j, r in jobs.items()}
    for r in got.values():
        r["bk_biz_id"] = int(r["bk_biz_id"])
    assert got == want
    return jobs


def steps(ids: list[int], job: int, **columns: Any) -> pa.RecordBatch:
    return make_batch("steps", ids, job_instance_id=job, **columns)


def commit(out: Path, run_id: str, *batches: pa.RecordBatch, **kwargs: Any) -> dict[str, int]:
    info: list[pa.RecordBatch] = kwargs.pop("info", [])
    with DatasetWriter(out, run_id=run_id, **kwargs) as w:
        for batch in batches:
            w.write("steps", batch)
        for batch in info:
            w.write_job_info(batch)
        return w.commit({})


def info_batch(job: int, name: str | None, operator: str | None = "alice") -> pa.RecordBatch:
    row = {"bk_biz_id": 2, "job_instance_id": job, "name": name, "operator": operator,
           "create_time": T0, "fetched_at": T0}  # fmt: skip
    return pa.RecordBatch.from_pylist([row], schema=JOB_INFO.schema)


# -- the definitions ------------------------------------------------------------------------


def test_counts_times_and_worst_outcome(tmp_path: Path) -> None:
    t = [T0 + timedelta(minutes=m) for m in range(4)]
    batch = steps(
        [1, 2, 3, 4],
        7,
        outcome=["success", "skipped", "failed", "running"],
        start_time=[t[1], t[0], t[2], None],
        end_time=[t[2], t[1], t[3], None],
        total_time_s=[60.0, 60.0, 30.5, None],
        is_finished=[True, True, True, False],
    )
    assert commit(tmp_path, "r1", batch)["jobs"] == 1
    (job,) = assert_jobs_agree(tmp_path).values()
    assert (job["steps"], job["steps_success"], job["steps_failed"]) == (4, 1, 1)
    assert (job["steps_skipped"], job["steps_running"], job["steps_unknown"]) == (1, 1, 0)
    assert (job["first_start"], job["last_end"]) == (t[0], t[3])
    assert (job["total_time_s"], job["span_s"]) == (150.5, 180.0)
    assert (job["worst_outcome"], job["is_finished"]) == ("failed", False)
    assert (job["name"], job["operator"], job["create_time"]) == (None, None, None)
    assert job["run_id"] == "r1"


@pytest.mark.parametrize(
    ("outcomes", "worst"),
    [
        (["success", "skipped"], "skipped"),
        (["success", "pending", "running"], "running"),
        (["running", "unknown"], "unknown"),
        (["unknown", "stopped"], "stopped"),
        (["stopped", "failed", "success"], "failed"),
        (["success", "odd-value"], "unknown"),
    ],
)
def test_worst_outcome_order(tmp_path: Path, outcomes: list[str], worst: str) -> None:
    commit(tmp_path, "r1", steps(list(range(len(outcomes))), 7, outcome=outcomes))
    assert assert_jobs_agree(tmp_path)[7]["worst_outcome"] == worst


def test_day_is_the_earliest_start_day_else_the_earliest_fetch_day(tmp_path: Path) -> None:
    late, early = T0 + timedelta(days=1), T0
    started = steps([1, 2, 3], 7, start_time=[late, None, early],
                    day=["2026-11-30", "2026-11-01", "2026-11-29"])  # fmt: skip
    pending = steps([4, 5], 8, start_time=None, day=["2026-12-02", "2026-12-01"])
    commit(tmp_path, "r1", started, pending)
    jobs = assert_jobs_agree(tmp_path)
    assert (jobs[7]["day"], jobs[8]["day"]) == ("2026-11-29", "2026-12-01")
    assert (tmp_path / "jobs" / "bk_biz_id=2" / "day=2026-11-29").is_dir()


# -- idempotent re-runs ----------------------------------------------------------------------


def test_refetching_one_step_updates_its_job_and_keeps_its_name(tmp_path: Path) -> None:
    first = steps([1, 2, 3], 7, outcome="running", is_finished=False, end_time=None)
    commit(tmp_path, "r1", first, steps([4], 8), info=[info_batch(7, "deploy", "bob")])
    again = steps([2], 7, outcome="failed", is_finished=True, run_id="r2")
    assert commit(tmp_path, "r2", again)["jobs"] == 1
    jobs = assert_jobs_agree(tmp_path)
    assert (jobs[7]["steps"], jobs[7]["steps_failed"], jobs[7]["steps_running"]) == (3, 1, 2)
    assert (jobs[7]["name"], jobs[7]["operator"], jobs[7]["run_id"]) == ("deploy", "bob", "r2")
    assert jobs[8]["run_id"] == "r1"  # untouched job: not rewritten
    commit(tmp_path, "r3", steps([3], 7), info=[info_batch(7, "deploy v2", None)])
    assert (published_jobs(tmp_path)[7]["name"], published_jobs(tmp_path)[7]["operator"]) == (
        "deploy v2",
        None,
    )


def test_step_moving_to_another_day_moves_its_job(tmp_path: Path) -> None:
    commit(tmp_path, "r1", steps([1, 2], 7, start_time=None, day="2026-11-28"))
    moved = steps([1], 7, start_time=T0, day="2026-11-29", run_id="r2")
    commit(tmp_path, "r2", moved)
    assert published_jobs(tmp_path)[7]["day"] == "2026-11-29"
    assert not (tmp_path / "jobs" / "bk_biz_id=2" / "day=2026-11-28").exists()
    assert_jobs_agree(tmp_path)


def test_steps_dropped_without_new_rows_update_or_remove_their_job(tmp_path: Path) -> None:
    commit(tmp_path, "r1", steps([1, 2], 7), steps([3], 8))
    with DatasetWriter(tmp_path, run_id="r2") as w:
        w.commit({"steps": {(1,), (3,)}})
    jobs = assert_jobs_agree(tmp_path)
    assert sorted(jobs) == [7] and jobs[7]["steps"] == 1


def test_jobs_cannot_be_written_directly(tmp_path: Path) -> None:
    with DatasetWriter(tmp_path, run_id="r1") as w:
        with pytest.raises(ValueError, match="derived from steps"):
            w.write("jobs", pa.RecordBatch.from_pylist([{}], schema=JOBS.schema))


def test_an_out_written_before_jobs_existed_gets_every_job(tmp_path: Path) -> None:
    commit(tmp_path, "r1", steps([1, 2], 7), steps([3], 8))
    shutil.rmtree(tmp_path / "jobs")  # as an older bkjob-export left it
    commit(tmp_path, "r2", steps([4], 9))
    assert sorted(assert_jobs_agree(tmp_path)) == [7, 8, 9]


def test_csv_jobs_keep_names_through_rewrites(tmp_path: Path) -> None:
    commit(tmp_path, "r1", steps([1, 2], 7), info=[info_batch(7, "=HYPERLINK(1)", "-x")], fmt="csv")
    commit(tmp_path, "r2", steps([2], 7, outcome="failed"), fmt="csv")
    job = assert_jobs_agree(tmp_path, "csv")[7]
    # the file holds the guarded text (the views strip the guard); never guarded twice
    assert (job["name"], job["operator"]) == ("'=HYPERLINK(1)", "'-x")
    assert job["steps_failed"] == 1


def test_random_runs_never_disagree(tmp_path: Path) -> None:
    rng = random.Random(4)
    for run in range(12):
        batches = []
        for job in rng.sample(range(10), 3):
            ids = rng.sample(range(job * 10, job * 10 + 6), rng.randint(1, 4))
            starts = [None if rng.random() < 0.3 else T0 + timedelta(hours=rng.randint(0, 60))
                      for _ in ids]  # fmt: skip
            days = [(s or T0 + timedelta(days=3)).astimezone(SHANGHAI).date().isoformat()
                    for s in starts]  # fmt: skip
            outcomes = [rng.choice(OUTCOMES) for _ in ids]
            batches.append(steps(ids, job, start_time=starts, day=days, outcome=outcomes,
                                 bk_biz_id=job % 3, run_id=f"r{run}"))  # fmt: skip
        drop = {(rng.randrange(100),) for _ in range(rng.randint(0, 3))}
        with DatasetWriter(tmp_path, run_id=f"r{run}", max_rows_per_file=3) as w:
            for b in batches:
                w.write("steps", b)
            w.commit({"steps": drop})
        assert_jobs_agree(tmp_path)


# -- job answers -----------------------------------------------------------------------------


def test_job_info_comes_from_job_answers_only() -> None:
    fetched = datetime(2026, 11, 30, tzinfo=UTC)
    instance = {"name": "nightly", "operator": "ops", "create_time": "2026-11-29 08:00:00"}
    job = {"job_instance": instance, "blocks": []}
    answers = [
        Answer(JobRef(2, 7), job, fetched),
        Answer(JobRef(2, 8), {"blocks": []}, fetched),  # no job_instance: nothing known
        Answer(StepRef(2, 9, 1), {"step_instance_detail": {"name": "x"}}, fetched),
    ]
    batch = job_info(answers, FlattenContext(SHANGHAI, "r1"))
    assert batch.schema == JOB_INFO.schema
    assert batch.to_pylist() == [
        {"bk_biz_id": 2, "job_instance_id": 7, "name": "nightly", "operator": "ops",
         "create_time": datetime(2026, 11, 29, tzinfo=UTC), "fetched_at": fetched},
    ]  # fmt: skip


def test_end_to_end_jobs_match_the_simulator(tmp_path: Path) -> None:
    data = SimData(seed=5, jobs=6)
    jobs = list(data.jobs())
    with Simulator(data, app_code=APP_CODE, app_secret=APP_SECRET) as sim:
        refs = [JobRef(j.bk_biz_id, j.job_instance_id) for j in jobs[:4]]
        first = fetch(settings_for(sim.base_url, tmp_path), refs)
        assert first.manifest.counts["jobs"] == 4
        step = jobs[0].steps[-1]
        again = StepRef(step.bk_biz_id, step.job_instance_id, step.step_instance_id)
        second = fetch(settings_for(sim.base_url, tmp_path), [again])
    found = assert_jobs_agree(tmp_path)
    for job in jobs[:4]:
        row = found[job.job_instance_id]
        assert (row["name"], row["operator"]) == (job.name, job.operator)
        assert row["create_time"] == job.create_time.replace(microsecond=0)
        assert row["steps"] == len(job.steps)
        want_run = second if job is jobs[0] else first
        assert row["run_id"] == want_run.manifest.run_id


def test_job_answers_survive_a_resume(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt), DatasetWriter(tmp_path, run_id="r1") as w:
        w.write("steps", steps([1, 2], 7))
        w.write_job_info(info_batch(7, "nightly deploy"))
        w.checkpoint(["job:2:7"])
        raise KeyboardInterrupt
    with DatasetWriter(tmp_path, run_id="r2", resume=True) as w:
        assert w.resumed_items() == {"job:2:7"}
        w.commit({})
    assert published_jobs(tmp_path)[7]["name"] == "nightly deploy"
    assert_jobs_agree(tmp_path)


def test_naming_a_job_in_replace_recomputes_it(tmp_path: Path) -> None:
    commit(tmp_path, "r1", steps([1], 7), steps([2], 8))
    with DatasetWriter(tmp_path, run_id="r2") as w:
        w.commit({"jobs": {(7,)}})
    jobs = assert_jobs_agree(tmp_path)
    assert (jobs[7]["run_id"], jobs[8]["run_id"]) == ("r2", "r1")
