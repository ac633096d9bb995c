"""Job 3.x mode over sockets: the v2 quirks of a 3.x platform and the jobv3 endpoints."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from pipeline.simulator import (
    JOB_STATUS_PATH,
    JOBV3_JOB_LIST_PATH,
    JOBV3_JOB_STATUS_PATH,
    STEP_STATUS_PATH,
    SimData,
    SimStep,
    Simulator,
)

AUTH = {"bk_app_code": "app", "bk_app_secret": "secret", "bk_username": "admin"}
DAY_MS = 86_400_000


@pytest.fixture(scope="module")
def data() -> SimData:
    return SimData(seed=21, jobs=150, job3=True)


@pytest.fixture(scope="module")
def sim(data: SimData) -> Iterator[Simulator]:
    with Simulator(data) as server:
        yield server


def call(sim: Simulator, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = requests.post(sim.base_url + path, json={**AUTH, **body}, timeout=10)
    assert r.status_code == 200
    out: dict[str, Any] = r.json()
    return out


def flat(s: SimStep) -> dict[str, Any]:
    return {
        "bk_biz_id": s.bk_biz_id,
        "job_instance_id": s.job_instance_id,
        "step_instance_id": s.step_instance_id,
    }


def steps_where(data: SimData, pred: Any) -> list[SimStep]:
    return [s for j in data.jobs() for s in j.steps if pred(s)]


def test_step_status_has_the_3x_quirks(data: SimData, sim: Simulator) -> None:
    step = next(
        s for s in steps_where(data, lambda s: s.host_count > 1) if len(s.result_groups(True)) > 1
    )
    env = call(sim, STEP_STATUS_PATH, flat(step))
    assert env["message"] == "" and "job_request_id" in env
    detail = env["data"]["step_instance_detail"]
    assert detail["execute_count"] == step.execute_count and "retry_count" not in detail
    assert all(detail[k] is None for k in ("total_ip_num", "fail_ip_num", "success_ip_num"))
    assert detail["abnormal_agent_ips"] is None
    assert (detail["bk_scope_type"], detail["bk_scope_id"]) == ("biz", str(step.bk_biz_id))
    first, *rest = env["data"]["step_instance_analyse_result"]
    truth = step.result_groups(by_tag=True)
    assert first["count"] == len(first["ip_list"]) == len(truth[0].indexes)
    assert {ip["bk_host_id"] for ip in first["ip_list"]} == {
        step.hosts.bk_host_id[i] for i in truth[0].indexes
    }
    assert rest and all(g["count"] == 0 and "ip_list" not in g for g in rest)


def test_success_hosts_are_9_and_running_steps_send_nulls(data: SimData, sim: Simulator) -> None:
    ok = steps_where(data, lambda s: s.status == 3 and s.execute_count > 0 and s.type != 3)[0]
    groups = call(sim, STEP_STATUS_PATH, flat(ok))["data"]["step_instance_analyse_result"]
    assert {g["result_type"] for g in groups} == {9}
    running = steps_where(data, lambda s: s.status == 2)[0]
    detail = call(sim, STEP_STATUS_PATH, flat(running))["data"]["step_instance_detail"]
    assert detail["end_time"] is None and detail["total_time"] is None


def test_params_wrapped_ids_are_rejected(data: SimData, sim: Simulator) -> None:
    step = steps_where(data, lambda s: s.type == 1)[0]
    ids = flat(step)
    wrapped = {"bk_biz_id": ids.pop("bk_biz_id"), "params": ids}
    env = call(sim, STEP_STATUS_PATH, wrapped)
    assert (env["code"], env["message"]) == (
        1241007,
        "Missing or invalid request parameter [job_instance_id]",
    )
    both = {**wrapped, **ids}  # the portable form: top level and params
    assert call(sim, STEP_STATUS_PATH, both)["result"] is True


def test_v2_job_status_in_3x_mode(data: SimData, sim: Simulator) -> None:
    job = next(iter(data.jobs()))
    env = call(
        sim, JOB_STATUS_PATH, {"bk_biz_id": job.bk_biz_id, "job_instance_id": job.job_instance_id}
    )
    inst = env["data"]["blocks"][0]["step_instances"][0]
    assert set(env["data"]["blocks"][0]) == {"step_instances"}
    assert "execute_count" in inst and "retry_count" not in inst and inst["pause"] is None


def test_jobv3_status_with_host_results(data: SimData, sim: Simulator) -> None:
    job = max(data.jobs(), key=lambda j: sum(s.host_count for s in j.steps))
    body: dict[str, Any] = {"bk_scope_type": "biz", "bk_scope_id": str(job.bk_biz_id)}
    body |= {"job_instance_id": job.job_instance_id, "return_ip_result": True}
    got = call(sim, JOBV3_JOB_STATUS_PATH, body)["data"]
    assert got["finished"] == job.is_finished
    assert got["job_instance"]["create_time"] == round(job.create_time.timestamp() * 1000)
    for entry, step in zip(got["step_instance_list"], job.steps, strict=True):
        assert entry["total_time"] == step.total_time_ms
        rows = entry["step_ip_result_list"]
        expected = [] if step.status == 1 else [(h.bk_host_id, h.result_type) for h in step.hosts]
        assert [(r["bk_host_id"], r["status"]) for r in rows] == expected
    without = call(sim, JOBV3_JOB_STATUS_PATH, body | {"return_ip_result": False})["data"]
    assert all("step_ip_result_list" not in s for s in without["step_instance_list"])


def test_jobv3_list_pages_newest_first(data: SimData, sim: Simulator) -> None:
    now_ms = data.layout.now_ms
    biz = 2
    expected = sorted((j.job_instance_id for j in data.jobs() if j.bk_biz_id == biz), reverse=True)
    window = {
        "bk_biz_id": biz,
        "create_time_start": now_ms - 10 * DAY_MS,
        "create_time_end": now_ms,
    }
    seen: list[int] = []
    start = 0
    while True:
        page = call(sim, JOBV3_JOB_LIST_PATH, window | {"start": start, "length": 7})["data"]
        assert page["total"] == len(expected)
        seen += [row["job_instance_id"] for row in page["data"] or []]
        start += page["length"]
        if start >= page["total"]:
            break
    assert seen == expected
    empty = window | {"create_time_start": now_ms + 1, "create_time_end": now_ms + 2}
    assert call(sim, JOBV3_JOB_LIST_PATH, empty)["data"] == {
        "start": 0,
        "length": 20,
        "total": 0,
        "data": None,
    }


def test_jobv3_list_filters_and_validation(data: SimData, sim: Simulator) -> None:
    now_ms = data.layout.now_ms
    job = list(data.jobs())[-1]
    window = {"bk_biz_id": job.bk_biz_id, "create_time_start": now_ms - 5 * DAY_MS}
    window["create_time_end"] = now_ms
    rows = call(sim, JOBV3_JOB_LIST_PATH, window | {"operator": job.operator})["data"]["data"]
    assert rows and all(r["operator"] == job.operator for r in rows)
    by_id = call(sim, JOBV3_JOB_LIST_PATH, window | {"job_instance_id": job.job_instance_id})
    assert [r["job_instance_id"] for r in by_id["data"]["data"]] == [job.job_instance_id]
    too_long = window | {"create_time_start": now_ms - 31 * DAY_MS}
    assert call(sim, JOBV3_JOB_LIST_PATH, too_long)["code"] == 1241002
    assert call(sim, JOBV3_JOB_LIST_PATH, window | {"create_time_end": 1})["code"] == 1241007
    assert call(sim, JOBV3_JOB_LIST_PATH, window | {"length": 1001})["code"] == 1240003
