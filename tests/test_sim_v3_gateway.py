"""The simulator's API gateway v3 paths and batch log API, on the wire."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from pipeline.codes import host_outcome
from pipeline.simulator import FaultConfig, SimData, SimStep, Simulator

AUTH = {"bk_app_code": "app", "bk_app_secret": "secret", "bk_username": "admin"}
HEADER = {"X-Bkapi-Authorization": json.dumps(AUTH)}
GW = "/api/bk-job/prod/api/v3/"
LOGS = "/api/c/compapi/v2/jobv3/batch_get_job_instance_ip_log/"


@pytest.fixture(scope="module")
def data() -> SimData:
    return SimData(seed=31, jobs=40, job3=True)


@pytest.fixture(scope="module")
def sim(data: SimData) -> Iterator[Simulator]:
    with Simulator(data, app_code="app", app_secret="secret", deny_biz=[1001]) as server:
        yield server


def get(sim: Simulator, api: str, params: dict[str, Any], **kw: Any) -> requests.Response:
    headers = kw.pop("headers", HEADER)
    return requests.get(sim.base_url + GW + api, params=params, headers=headers, timeout=10, **kw)


def scope(step: SimStep) -> dict[str, Any]:
    return {"bk_scope_type": "biz", "bk_scope_id": str(step.bk_biz_id),
            "job_instance_id": step.job_instance_id}  # fmt: skip


def steps(data: SimData, biz_ok: bool = True) -> list[SimStep]:
    return [s for j in data.jobs() for s in j.steps
            if s.type != 3 and (s.bk_biz_id != 1001) == biz_ok]  # fmt: skip


def test_auth_is_read_only_from_the_header(data: SimData, sim: Simulator) -> None:
    step = steps(data)[0]
    params = {**scope(step), "step_instance_id": step.step_instance_id}
    in_params = get(sim, "get_step_instance_status", {**params, **AUTH}, headers={})
    assert in_params.status_code == 401
    assert in_params.headers["X-Bkapi-Error-Code"] == "1640101"
    assert in_params.json()["code_name"] == "APP_VERIFY_FAILED"
    no_user = {
        "X-Bkapi-Authorization": json.dumps({"bk_app_code": "app", "bk_app_secret": "secret"})
    }
    assert get(sim, "get_step_instance_status", params, headers=no_user).json()["code"] == 1640102
    wrong = {"X-Bkapi-Authorization": json.dumps({**AUTH, "bk_app_secret": "nope"})}
    assert get(sim, "get_step_instance_status", params, headers=wrong).status_code == 401
    ok = get(sim, "get_step_instance_status", params)
    assert ok.status_code == 200 and ok.json()["result"] is True
    assert "request_id" not in ok.json() and ok.headers["X-Bkapi-Request-Id"]


def test_unknown_stage_resource_or_method_is_404_and_system_twins_403(sim: Simulator) -> None:
    base = sim.base_url + "/api/bk-job/"
    cases = [("GET", "stag/api/v3/get_job_instance_list", 404, 1640401),
             ("GET", "prod/api/v3/no_such_api", 404, 1640401),
             ("POST", "prod/api/v3/get_job_instance_status", 404, 1640401),
             ("GET", "prod/api/v3/system/get_job_instance_status", 403, 1640301)]  # fmt: skip
    for method, path, status, code in cases:
        reply = requests.request(method, base + path, headers=HEADER, timeout=10)
        assert (reply.status_code, reply.json()["code"]) == (status, code), path
        assert reply.headers["X-Bkapi-Error-Code"] == str(code)


def test_step_status_lists_every_group_with_its_size(data: SimData, sim: Simulator) -> None:
    step = max(steps(data), key=lambda s: len(s.result_groups(by_tag=True)))
    params = {**scope(step), "step_instance_id": step.step_instance_id}
    body = get(sim, "get_step_instance_status", params).json()["data"]
    groups = body["step_result_group_list"]
    assert len(groups) == len(step.result_groups(by_tag=True)) > 1
    assert sum(g["host_size"] for g in groups) == step.host_count
    assert all(len(g["host_result_list"]) == g["host_size"] for g in groups)
    host = groups[0]["host_result_list"][0]
    assert set(host) >= {"bk_host_id", "ipv6", "bk_agent_id", "exit_code", "total_time", "tag"}
    capped = get(sim, "get_step_instance_status", {**params, "max_host_num_per_group": 1})
    assert all(
        len(g["host_result_list"]) <= 1 for g in capped.json()["data"]["step_result_group_list"]
    )
    last = {"status": groups[-1]["result_type"], "tag": groups[-1]["tag"]}
    only = get(sim, "get_step_instance_status", {**params, **last})
    lists = [len(g["host_result_list"]) for g in only.json()["data"]["step_result_group_list"]]
    assert lists[:-1] == [0] * (len(lists) - 1) and lists[-1] > 0


def test_a_denied_business_answers_9900403_through_the_gateway(
    data: SimData, sim: Simulator
) -> None:
    step = steps(data, biz_ok=False)[0]
    reply = get(sim, "get_job_instance_status", scope(step))
    body = reply.json()
    assert (reply.status_code, body["result"], body["code"]) == (200, False, 9900403)
    assert body["permission"]["actions"][0]["id"] == "view_history"


def test_gateway_rate_limit_fault_is_a_real_429() -> None:
    data = SimData(seed=1, jobs=3, job3=True)
    with Simulator(data, faults=FaultConfig(gateway_429_rate=1.0)) as sim:
        step = data.job_at(0).steps[0]
        reply = get(sim, "get_job_instance_status", scope(step))
    assert reply.status_code == 429 and reply.headers["X-Bkapi-RateLimit-Remaining"] == "0"


def test_no_gateway_without_jobv3(data: SimData) -> None:
    with Simulator(SimData(seed=1, jobs=3)) as sim:
        reply = get(sim, "get_job_instance_list", {})
    assert reply.status_code == 200 and reply.json()["code"] == 1306404  # ESB: no component


def post_logs(sim: Simulator, step: SimStep, path: str = LOGS, **hosts: Any) -> Any:
    body = {**scope(step), "step_instance_id": step.step_instance_id, **hosts}
    reply = requests.post(sim.base_url + path, json=body, headers=HEADER, timeout=10)
    return reply.json()


def test_batch_logs_give_failed_hosts_an_error_tail(data: SimData, sim: Simulator) -> None:
    step = next(s for s in steps(data) if s.type == 1 and any(
        host_outcome(c) == "failed" for c in s.hosts.result_type))  # fmt: skip
    ids = list(step.hosts.bk_host_id[:500])
    first = post_logs(sim, step, host_id_list=ids)
    again = post_logs(sim, step, path=GW + "batch_get_job_instance_ip_log", host_id_list=ids)
    assert first["data"] == again["data"], "the same text on ESB and the gateway, every time"
    logs = {h["bk_host_id"]: h["log_content"] for h in first["data"]["script_task_logs"]}
    assert first["data"]["log_type"] == 1 and len(logs) == len(ids)
    for host in step.hosts:
        if host.bk_host_id in logs and host_outcome(host.result_type) == "failed":
            assert "ERROR" in logs[host.bk_host_id].splitlines()[-3]
    by_ip = post_logs(sim, step, ip_list=[{"bk_cloud_id": step.hosts.bk_cloud_id[0],
                                           "ip": step.hosts.ip[0]}])  # fmt: skip
    assert [h["ip"] for h in by_ip["data"]["script_task_logs"]] == [step.hosts.ip[0]]


def test_batch_logs_refuse_more_than_500_hosts_and_some_are_long(
    data: SimData, sim: Simulator
) -> None:
    step = steps(data)[0]
    too_many = post_logs(sim, step, host_id_list=list(range(1, 502)))
    assert (too_many["code"], too_many["message"]) == (
        1241007, "Missing or invalid request parameter [host_id_list]")  # fmt: skip
    lengths = []
    for s in steps(data):
        answer = post_logs(sim, s, host_id_list=list(s.hosts.bk_host_id[:500]))["data"]
        for item in answer.get("script_task_logs") or answer.get("file_task_logs") or []:
            text = item.get("log_content") or item["file_logs"][0]["log_content"]
            lengths.append(len(text.encode()))
        if max(lengths, default=0) > 16 * 1024:
            break
    assert max(lengths) > 16 * 1024, "long logs exercise truncation"
