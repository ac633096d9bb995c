"""The three API flavours give the same ``steps`` and ``step_hosts`` rows (the columns
they share) for the same jobs, over real sockets against one simulator's data.

Known, documented differences are left out of the comparison: v2 times are whole seconds
(compared truncated); the v3 status APIs send no ``operator``/``step_id``; jobv3's
get_job_instance_status lists no hosts for a step that never started (bk-job issue #522).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.ids import Ref
from pipeline.runner import fetch
from pipeline.simulator import SimData, SimHost, Simulator
from tests.e2e_helpers import APP_CODE, APP_SECRET, job_refs, read_table, settings_for, step_refs

FLAVOURS = ("esb-v2", "esb-v3", "apigw")
STEP_COLUMNS = (
    "bk_biz_id", "job_instance_id", "step_instance_id", "name", "step_type", "step_type_name",
    "status", "status_name", "outcome", "is_finished", "retry_count", "total_time_s",
    "hosts_complete",
)  # fmt: skip
COUNTERS = ("total_ip_num", "success_ip_num", "fail_ip_num", "running_ip_num",
            "abnormal_agent_ip_num")  # fmt: skip
HOST_COLUMNS = ("bk_biz_id", "job_instance_id", "step_instance_id", "bk_cloud_id", "ip",
                "result_type", "result_type_text", "outcome")  # fmt: skip
V3_HOST_COLUMNS = ("bk_host_id", "exit_code", "tag", "start_time", "end_time", "total_time_s")


def export(base_url: str, out: Path, api: str, refs: list[Ref]) -> tuple[dict[int, Any], Any]:
    result = fetch(settings_for(base_url, out, api=api), refs)
    assert result.exit_code == 0, result.manifest
    steps = {r["step_instance_id"]: r for r in read_table(out, "steps").to_pylist()}
    hosts = read_table(out, "step_hosts").to_pylist()
    return steps, hosts


def step_view(row: dict[str, Any], counters: bool) -> tuple[Any, ...]:
    times = tuple(t and t.replace(microsecond=0) for t in (row["start_time"], row["end_time"]))
    extra = tuple(row[c] for c in COUNTERS) if counters else ()
    return tuple(row[c] for c in STEP_COLUMNS) + times + extra


def host_view(rows: list[dict[str, Any]], columns: tuple[str, ...], skip: set[int]) -> list[Any]:
    return sorted(tuple(r[c] for c in columns) for r in rows if r["step_instance_id"] not in skip)


def compare(results: dict[str, tuple[dict[int, Any], Any]]) -> None:
    steps = {api: r[0] for api, r in results.items()}
    assert len({frozenset(s) for s in steps.values()}) == 1, "the same steps in every flavour"
    pending = {sid for sid, row in steps["esb-v2"].items() if row["status"] == 1}
    for sid, row in steps["esb-v2"].items():
        want = step_view(row, sid not in pending)
        for api in FLAVOURS[1:]:
            assert step_view(steps[api][sid], sid not in pending) == want, (api, sid)
    want_hosts = host_view(results["esb-v2"][1], HOST_COLUMNS, pending)
    assert want_hosts, "the data must have host rows"
    for api in FLAVOURS[1:]:
        assert host_view(results[api][1], HOST_COLUMNS, pending) == want_hosts, api
    v3 = [
        host_view(results[api][1], HOST_COLUMNS + V3_HOST_COLUMNS, pending) for api in FLAVOURS[1:]
    ]
    assert v3[0] == v3[1], "esb-v3 and apigw agree on the v3 per-host columns"


@pytest.fixture(scope="module")
def job3() -> Iterator[tuple[SimData, Simulator]]:
    data = SimData(seed=20, jobs=24, job3=True)  # has pending steps
    with Simulator(data, app_code=APP_CODE, app_secret=APP_SECRET) as sim:
        yield data, sim


def test_whole_jobs_agree_in_every_flavour(job3: tuple[SimData, Simulator], tmp_path: Path) -> None:
    data, sim = job3
    refs = job_refs(data)
    results = {api: export(sim.base_url, tmp_path / api, api, refs) for api in FLAVOURS}
    compare(results)
    assert any(r["status"] == 1 for r in results["esb-v2"][0].values()), "a pending step"
    steps = results["esb-v3"][0]
    assert all(r["operator"] is None and r["step_id"] is None for r in steps.values())


def test_single_steps_agree_and_esb_v3_calls_each_job_once(tmp_path: Path) -> None:
    # 2.x mode with jobv3 served: v2 step answers list every group, so all three are complete
    data = SimData(seed=22, jobs=20)
    with Simulator(data, app_code=APP_CODE, app_secret=APP_SECRET, jobv3=True) as sim:
        refs = step_refs(data)
        results = {api: export(sim.base_url, tmp_path / api, api, refs) for api in FLAVOURS}
        v3_calls = sim.stats.count("jobv3/get_job_instance_status")
        list_calls = sim.stats.count("get_job_instance_list")
    compare(results)
    jobs = {(r.bk_biz_id, r.job_instance_id) for r in refs}
    assert v3_calls == len(jobs) < len(refs)  # one call per job, not per step
    assert list_calls == 0  # an explicit --api does not probe


def test_v3_host_columns_match_the_simulator(
    job3: tuple[SimData, Simulator], tmp_path: Path
) -> None:
    data, sim = job3
    export(sim.base_url, tmp_path, "apigw", step_refs(data)[:40])
    truth: dict[int, dict[tuple[int, str], SimHost]] = {}
    for row in read_table(tmp_path, "step_hosts").to_pylist():
        sid = row["step_instance_id"]
        if sid not in truth:
            step = data.step(row["bk_biz_id"], row["job_instance_id"], sid)
            assert step is not None
            truth[sid] = {(h.bk_cloud_id, h.ip): h for h in step.hosts}
        host = truth[sid][(row["bk_cloud_id"], row["ip"])]
        assert (row["bk_host_id"], row["exit_code"], row["tag"] or "") == (
            host.bk_host_id,
            host.exit_code,
            host.tag,
        )
        assert row["bk_agent_id"] and row["bk_agent_id"].startswith("0:")
        if host.start_ms is not None and host.end_ms is not None:
            assert row["total_time_s"] == (host.end_ms - host.start_ms) / 1000


def test_auto_picks_jobv3_where_it_answers_and_v2_where_not(tmp_path: Path) -> None:
    data = SimData(seed=23, jobs=6)
    refs = step_refs(data)[:4]
    with Simulator(data, app_code=APP_CODE, app_secret=APP_SECRET) as v2_only:
        fetch(settings_for(v2_only.base_url, tmp_path / "a"), refs)
        assert v2_only.stats.count("get_step_instance_status", "ok") == len(refs)
        # two probes: jobv3 (1306404: no such component), then the gateway path
        assert v2_only.stats.count("get_job_instance_list") == 2
    with Simulator(data, app_code=APP_CODE, app_secret=APP_SECRET, jobv3=True) as v3:
        fetch(settings_for(v3.base_url, tmp_path / "b"), refs)
        assert v3.stats.count("jobv3/get_job_instance_list") == 1  # one probe call
        assert v3.stats.count("jobv3/get_job_instance_status", "ok") >= 1
        assert v3.stats.count("job/get_step_instance_status") == 0
