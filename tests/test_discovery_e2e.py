"""Discovery against the simulator over real sockets: real pagination, the 30-day limit,
a business without permission, and unfinished jobs fetched again by the next run."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from pipeline.client import ApiClient, Credentials
from pipeline.config import Secret
from pipeline.discovery import discover
from pipeline.flavours import Apigw, EsbV3
from pipeline.ids import JobRef
from pipeline.intake import retrying
from pipeline.ratelimit import RateLimiter
from pipeline.retry import RetryPolicy
from pipeline.runner import Tuning, fetch
from pipeline.simulator import DEFAULT_NOW, SimData, Simulator
from tests.e2e_helpers import APP_CODE, APP_SECRET, read_table, settings_for

NOW = DEFAULT_NOW
TUNING = Tuning(now=NOW)


def in_window(data: SimData, biz: int, lo: datetime, hi: datetime) -> set[int]:
    """The truth: jobs of ``biz`` created in [lo, hi] (bounds inclusive, epoch ms)."""
    lo_ms, hi_ms = int(lo.timestamp() * 1000), int(hi.timestamp() * 1000)
    plans = (data.plan(i) for i in range(data.job_count))
    return {
        p.job_instance_id for p in plans if p.bk_biz_id == biz and lo_ms <= p.create_ms <= hi_ms
    }


def sender(sim: Simulator) -> Any:
    client = ApiClient(sim.base_url, Credentials(APP_CODE, Secret(APP_SECRET), "admin"))
    return retrying(client, RetryPolicy(max_retries=0), RateLimiter(), time.sleep)


def test_pages_of_1000_until_total(tmp_path: Path) -> None:
    data = SimData(seed=9, jobs=4000, job3=True)
    window = (NOW - timedelta(days=3), NOW)
    want = in_window(data, 2, *window)
    assert len(want) > 1000, "the business must need two pages"
    with Simulator(data, app_code=APP_CODE, app_secret=APP_SECRET) as sim:
        found = discover(sender(sim), EsbV3(), [2], window)
        pages = sim.stats.count("get_job_instance_list", "ok")
    assert {r.job_instance_id for r in found.refs} == want and len(found.refs) == len(want)
    assert pages == 2 and not found.failures
    assert all(found.facts[(2, r.job_instance_id)]["operator"] for r in found.refs)


def test_a_span_over_30_days_is_split_into_windows(tmp_path: Path) -> None:
    data = SimData(seed=9, jobs=300, job3=True, days=75)
    window = (NOW - timedelta(days=75), NOW)
    with Simulator(data, app_code=APP_CODE, app_secret=APP_SECRET) as sim:
        found = discover(sender(sim), Apigw(), [2, 3], window)
        limited = sim.stats.count(outcome="error:1241002")
        calls = sim.stats.count("get_job_instance_list", "ok")
    assert limited == 0 and calls == 2 * 3  # three windows per business, one page each
    for biz in (2, 3):
        assert {r.job_instance_id for r in found.refs if r.bk_biz_id == biz} == in_window(
            data, biz, *window
        )


def test_a_denied_business_ends_in_fetch_errors_and_the_others_go_on(tmp_path: Path) -> None:
    data = SimData(seed=10, jobs=60, job3=True, days=1)
    with Simulator(data, app_code=APP_CODE, app_secret=APP_SECRET, deny_biz=[1001]) as sim:
        result = fetch(settings_for(sim.base_url, tmp_path, since="12h", biz=(2, 1001)), [],
                       tuning=TUNING)  # fmt: skip
    assert result.exit_code == 3
    (error,) = read_table(tmp_path, "fetch_errors").to_pylist()
    assert (error["bk_biz_id"], error["job_instance_id"], error["step_instance_id"]) == (
        1001,
        None,
        None,
    )
    assert (error["error_kind"], error["api_code"]) == ("auth", 9900403)
    assert "permission" in error["message"].lower()
    want = in_window(data, 2, NOW - timedelta(hours=12), NOW)
    steps = read_table(tmp_path, "steps").to_pylist()
    assert {s["job_instance_id"] for s in steps} == want
    assert {s["bk_biz_id"] for s in steps} == {2}
    jobs = {j.job_instance_id: j for j in data.jobs() if j.job_instance_id in want}
    assert all(s["operator"] == jobs[s["job_instance_id"]].operator for s in steps)  # list row
    m = result.manifest
    assert (m.failed, m.requested, m.exported) == (1, len(want) + 1, len(steps))
    # granted since: the next run lists business 1001 and its error row goes away
    with Simulator(data, app_code=APP_CODE, app_secret=APP_SECRET) as sim:
        again = fetch(settings_for(sim.base_url, tmp_path, since="12h", biz=(2, 1001)), [],
                      tuning=TUNING)  # fmt: skip
    assert again.exit_code == 0
    assert read_table(tmp_path, "fetch_errors").num_rows == 0


def test_unfinished_jobs_are_fetched_again_by_the_next_run(tmp_path: Path) -> None:
    data = SimData(seed=12, jobs=80, job3=True, days=1)
    with Simulator(data, app_code=APP_CODE, app_secret=APP_SECRET) as sim:
        first = fetch(settings_for(sim.base_url, tmp_path, since="6h", biz=(2, 3, 5, 8, 1001)),
                      [], tuning=TUNING)  # fmt: skip
        steps = read_table(tmp_path, "steps").to_pylist()
        running = {s["job_instance_id"] for s in steps if not s["is_finished"]}
        done = {s["job_instance_id"] for s in steps} - running
        assert running and done, "the data must hold running and finished jobs"
        # the next night: its window holds none of them, but the running ones come back
        second = fetch(settings_for(sim.base_url, tmp_path, since="23h", until="22h", biz=(2,)),
                       [], tuning=TUNING)  # fmt: skip
    assert first.exit_code == second.exit_code == 0
    run_ids = {s["job_instance_id"]: s["run_id"] for s in read_table(tmp_path, "steps").to_pylist()}
    assert all(run_ids[j] == second.manifest.run_id for j in running)
    assert all(run_ids[j] == first.manifest.run_id for j in done)


def test_refresh_unfinished_without_discovery(tmp_path: Path) -> None:
    data = SimData(seed=12, jobs=80, job3=True, days=1)
    with Simulator(data, app_code=APP_CODE, app_secret=APP_SECRET) as sim:
        fetch(settings_for(sim.base_url, tmp_path, since="1h", biz=(2, 3, 5, 8, 1001)), [],
              tuning=TUNING)  # fmt: skip
        running = {s["job_instance_id"] for s in read_table(tmp_path, "steps").to_pylist()
                   if not s["is_finished"]}  # fmt: skip
        again = fetch(settings_for(sim.base_url, tmp_path, refresh_unfinished=True), [],
                      tuning=TUNING)  # fmt: skip
    assert running and again.manifest.requested == len(running)


def test_retry_failed_skips_a_business_listing_error(tmp_path: Path) -> None:
    data = SimData(seed=10, jobs=30, job3=True, days=1)
    with Simulator(data, app_code=APP_CODE, app_secret=APP_SECRET, deny_biz=[1001]) as sim:
        fetch(settings_for(sim.base_url, tmp_path / "a", since="12h", biz=(1001,)), [],
              tuning=TUNING)  # fmt: skip
        job = data.job_at(0)
        again = fetch(settings_for(sim.base_url, tmp_path / "b", retry_failed=tmp_path / "a"),
                      [JobRef(job.bk_biz_id, job.job_instance_id)], tuning=TUNING)  # fmt: skip
    assert again.exit_code == 0 and again.manifest.requested == 1
