"""SimData: deterministic, lazy, realistic and internally consistent (no sockets here)."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.codes import FINISHED_STATUSES, host_outcome, step_outcome
from pipeline.simulator import DEFAULT_NOW, SimData, SimStep


@pytest.fixture(scope="module")
def data() -> SimData:
    return SimData(seed=7, jobs=300)


@pytest.fixture(scope="module")
def steps(data: SimData) -> list[SimStep]:
    return [s for j in data.jobs() for s in j.steps]


def test_same_seed_same_world_different_seed_different() -> None:
    a, b, c = SimData(seed=1, jobs=40), SimData(seed=1, jobs=40), SimData(seed=2, jobs=40)
    assert list(a.jobs()) == list(b.jobs())
    assert list(a.step_ids()) == list(b.step_ids())
    assert list(a.jobs()) != list(c.jobs())
    assert a.total_hosts() == b.total_hosts()


def test_job3_flag_changes_only_the_success_codes() -> None:
    v2, v3 = SimData(seed=4, jobs=80), SimData(seed=4, jobs=80, job3=True)
    assert list(v2.step_ids()) == list(v3.step_ids())
    codes2 = Counter(c for j in v2.jobs() for s in j.steps for c in s.hosts.result_type)
    codes3 = Counter(c for j in v3.jobs() for s in j.steps for c in s.hosts.result_type)
    assert codes3[3] == 0 and codes2[3] > 0  # 2.x: "Successful Last Time" after a retry
    assert codes2[3] + codes2[9] == codes3[9]


def test_large_data_is_lazy_and_ids_map_back() -> None:
    data = SimData(seed=9, jobs=100_000)
    last = data.job_at(99_999)
    assert data.job(last.bk_biz_id, last.job_instance_id) == last
    step = last.steps[-1]
    assert data.step(last.bk_biz_id, last.job_instance_id, step.step_instance_id) == step
    assert last.create_time < data.now


def test_ids_are_11_digit_unique_and_resolve(data: SimData) -> None:
    ids = list(data.step_ids())
    assert len({s for _, _, s in ids}) == len(ids) == data.total_steps()
    assert len({j for _, j, _ in ids}) == data.total_jobs() == 300
    for biz, job, step in ids[::37]:
        assert job >= 2**31 and step >= 2**31 and len(str(job)) == len(str(step)) == 11
        found = data.step(biz, job, step)
        assert found is not None and found.step_instance_id == step
    biz, job, step = ids[0]
    other_biz = next(b for b, _, _ in ids if b != biz)
    assert data.job(other_biz, job) is None
    assert data.step(biz, job, ids[-1][2]) is None
    assert data.job(biz, job + 10**9) is None


def test_write_ids_csv_to_path_and_file(data: SimData, tmp_path: Path) -> None:
    path = tmp_path / "ids.csv"
    assert data.write_ids_csv(path) == data.total_steps()
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
    assert rows[0] == ["bk_biz_id", "job_instance_id", "step_instance_id"]
    assert [tuple(map(int, r)) for r in rows[1:]] == list(data.step_ids())
    buf = io.StringIO()
    data.write_ids_csv(buf)
    assert buf.getvalue() == path.read_text(encoding="utf-8")


def test_variety(data: SimData, steps: list[SimStep]) -> None:
    statuses = Counter(s.status for s in steps)
    assert statuses[3] > len(steps) * 0.6
    assert {1, 2, 3, 4, 6} <= set(statuses)
    assert {1, 2, 3, 4} <= {s.type for s in steps}
    assert {j.bk_biz_id for j in data.jobs()} == {2, 3, 5, 8, 1001}
    assert any(s.execute_count > 0 for s in steps)
    counts = sorted(s.host_count for s in steps if s.type != 3)
    assert counts[len(counts) // 2] < 20 and counts[-1] >= 1000
    assert {j.operator for j in data.jobs()} >= {"admin", "ops_bot"}
    clouds = Counter(c for s in steps for c in s.hosts.bk_cloud_id)
    assert clouds[0] > 0.8 * sum(clouds.values()) and len(clouds) > 1


def test_hostile_names_are_present(steps: list[SimStep]) -> None:
    names = {s.name for s in steps}
    assert "<script>alert(1)</script>" in names
    assert any(n.startswith("=") for n in names)
    assert any("&" in n and '"' in n for n in names)
    assert any(len(n) > 150 for n in names)
    assert any(any("\u4e00" <= ch <= "\u9fff" for ch in n) for n in names)


def test_times_are_sequential_and_before_now(data: SimData) -> None:
    for job in data.jobs():
        assert job.create_time <= job.start_time <= data.now  # type: ignore[operator]
        ends = [s.end_time for s in job.steps if s.end_time is not None]
        previous = job.start_time
        for step in job.steps:
            if step.start_time is None:
                continue
            assert previous is not None and step.start_time >= previous
            previous = step.end_time
        assert job.is_finished == (job.end_time is not None)
        if job.end_time is not None:
            assert job.end_time == max(ends) and job.end_time <= data.now


def test_step_status_matches_its_hosts(steps: list[SimStep]) -> None:
    for s in steps:
        outcomes = Counter(host_outcome(c) for c in s.hosts.result_type)
        ips = list(zip(s.hosts.bk_cloud_id, s.hosts.ip, strict=True))
        assert len(set(ips)) == len(ips)
        if s.type == 3:
            assert s.host_count == 0
        elif s.status == 3:
            assert set(outcomes) == {"success"}
        elif s.status in (4, 6):
            assert outcomes["failed"] >= 1
        elif s.status == 1:
            assert set(s.hosts.result_type) <= {5} and s.start_time is None
        elif s.status == 2:
            assert outcomes["running"] + outcomes["pending"] >= 1
        assert (s.end_time is None) == (s.status not in FINISHED_STATUSES or s.start_time is None)
        assert s.is_finished == (s.status in FINISHED_STATUSES)
        if s.total_time_ms is not None:
            assert s.start_time is not None and s.end_time is not None
            assert s.end_time - s.start_time == timedelta(milliseconds=s.total_time_ms)
        assert step_outcome(s.status) != "unknown"


def test_counters_and_groups_add_up(steps: list[SimStep]) -> None:
    for s in steps[::5]:
        c = s.counters()
        assert c["total_ip_num"] == s.host_count == sum(len(g.indexes) for g in s.result_groups())
        assert c["success_ip_num"] + c["fail_ip_num"] + c["running_ip_num"] <= c["total_ip_num"]
        codes = [g.result_type for g in s.result_groups()]
        assert codes == sorted(set(codes))


def test_now_is_fixed_by_default_and_can_be_moved() -> None:
    assert SimData(jobs=5).now == DEFAULT_NOW
    later = datetime(2030, 1, 1, tzinfo=UTC)
    moved = SimData(jobs=5, now=later)
    assert all(later - timedelta(days=4) < j.create_time < later for j in moved.jobs())
    with pytest.raises(ValueError):
        SimData(now=datetime(2030, 1, 1))


def test_benchmark_overrides_give_exact_sizes() -> None:
    data = SimData(seed=3, jobs=20, steps_per_job=4, hosts_per_step=500)
    assert data.total_steps() == 80
    assert data.total_hosts() == 80 * 500
    assert all(s.host_count == 500 and s.type != 3 for j in data.jobs() for s in j.steps)
    with pytest.raises(ValueError):
        SimData(hosts_per_step=10_000)
