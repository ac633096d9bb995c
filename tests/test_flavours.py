"""The API flavours' pure parts: request building and answer normalising."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from pipeline.errors import FatalApiError
from pipeline.flatten import Answer, FlattenContext, flatten
from pipeline.flavours import API_CHOICES, Apigw, EsbV2, EsbV3, LogHost, make_flavour
from pipeline.flavours.base import MAX_LOG_HOSTS, log_params
from pipeline.flavours.v3shape import (
    fill_job_facts,
    groups_from_hosts,
    job_from_v3,
    ms_to_s,
    step_from_gateway,
    step_from_job,
)
from pipeline.ids import JobRef, StepRef

T0 = 1_795_000_000_000  # epoch ms
CTX = FlattenContext(ZoneInfo("Asia/Shanghai"), "run-1")
FETCHED = datetime(2026, 11, 28, tzinfo=UTC)


def v3_job() -> dict[str, Any]:
    """A jobv3 get_job_instance_status answer with return_ip_result (API reference 5.1)."""
    host = {"ip": "10.0.0.1", "bk_cloud_id": 0, "status": 104, "tag": "", "exit_code": 2,
            "error_code": 0, "start_time": T0, "end_time": T0 + 1500,
            "total_time": 1500}  # fmt: skip
    return {
        "finished": True,
        "job_instance": {
            "job_instance_id": 7,
            "name": "deploy",
            "status": 4,
            "create_time": T0 - 1000,
            "start_time": T0,
            "end_time": T0 + 2000,
            "total_time": 2000,
        },  # fmt: skip
        "step_instance_list": [
            {
                "step_instance_id": 70,
                "name": "run",
                "type": 1,
                "status": 4,
                "execute_count": 1,
                "start_time": T0,
                "end_time": T0 + 2000,
                "total_time": 2000,
                "step_ip_result_list": [
                    {**host, "bk_host_id": 501},
                    {
                        **host,
                        "host_id": 502,
                        "ip": "10.0.0.2",
                        "status": 9,
                        "exit_code": 0,
                        "tag": "ok",
                    },
                ],
            },  # fmt: skip
            {
                "step_instance_id": 71,
                "name": "later",
                "type": 2,
                "status": 1,
                "execute_count": 0,
                "start_time": None,
                "end_time": None,
                "total_time": None,
            },
        ],  # fmt: skip
    }


def test_every_choice_but_auto_has_a_flavour() -> None:
    assert API_CHOICES == ("auto", "esb-v2", "esb-v3", "apigw")
    assert [make_flavour(n).name for n in API_CHOICES[1:]] == list(API_CHOICES[1:])
    with pytest.raises(ValueError):
        make_flavour("auto")


def test_requests_name_their_paths_methods_and_scope() -> None:
    v2 = EsbV2().step_request(2, 7, 70)
    assert (v2.method, v2.path) == ("POST", "/api/c/compapi/v2/job/get_step_instance_status/")
    assert v2.params == {"bk_biz_id": 2, "job_instance_id": 7, "step_instance_id": 70,
                         "params": {"job_instance_id": 7, "step_instance_id": 70}}  # fmt: skip
    v3 = EsbV3().step_request(2, 7, 70)  # a step is read from its job's answer
    assert (v3.method, v3.path) == ("POST", "/api/c/compapi/v2/jobv3/get_job_instance_status/")
    assert v3.params == {"bk_scope_type": "biz", "bk_scope_id": "2", "job_instance_id": 7,
                         "return_ip_result": True}  # fmt: skip
    gw = Apigw(stage="test").step_request(2, 7, 70)
    assert (gw.method, gw.path) == ("GET", "/api/bk-job/test/api/v3/get_step_instance_status")
    assert gw.params["batch"] == 0 and "bk_biz_id" not in gw.params
    page = Apigw().list_request(3, (1, 2), 1000, 1000)
    assert page.path == "/api/bk-job/prod/api/v3/get_job_instance_list"
    assert page.params == {"bk_scope_type": "biz", "bk_scope_id": "3", "create_time_start": 1,
                           "create_time_end": 2, "start": 1000, "length": 1000}  # fmt: skip
    for req in (v2, v3, gw, page):
        assert not {"bk_app_code", "bk_app_secret", "bk_username"} & set(req.params)


def test_log_requests_use_host_ids_else_cloud_and_ip() -> None:
    by_id = log_params((2, 7, 70), [LogHost(0, "10.0.0.1", 501)])
    assert by_id["host_id_list"] == [501] and "ip_list" not in by_id
    by_ip = log_params((2, 7, 70), [LogHost(0, "10.0.0.1", 501), LogHost(1, "10.0.0.2", None)])
    assert by_ip["ip_list"] == [{"bk_cloud_id": 0, "ip": "10.0.0.1"},
                                {"bk_cloud_id": 1, "ip": "10.0.0.2"}]  # fmt: skip
    assert EsbV2().log_request((2, 7, 70), []).path.endswith("jobv3/batch_get_job_instance_ip_log/")
    with pytest.raises(ValueError):
        log_params((2, 7, 70), [LogHost(0, "10.0.0.1", i) for i in range(MAX_LOG_HOSTS + 1)])


def test_v3_job_normalises_to_the_v2_shape_in_v2_units() -> None:
    job = job_from_v3(v3_job())
    assert job["is_finished"] is True
    assert job["job_instance"]["total_time"] == 2.0
    steps = [b["step_instances"][0] for b in job["blocks"]]
    assert [s["step_instance_id"] for s in steps] == [70, 71]
    assert steps[0]["total_time"] == 2.0 and steps[0]["execute_count"] == 1
    hosts = steps[0]["step_ip_status"]
    assert [h["bk_host_id"] for h in hosts] == [501, 502]  # older releases say host_id
    assert hosts[0]["total_time"] == 1.5 and hosts[0]["start_time"] == T0
    assert steps[1]["step_ip_status"] == []  # never started: no host rows (issue #522)


def test_ms_to_s_is_tolerant() -> None:
    assert [ms_to_s(v) for v in (1500, "250", None, True, "x", [1])] == [
        1.5, 0.25, None, None, None, None]  # fmt: skip


def test_flattened_v3_job_has_every_host_and_the_v3_columns() -> None:
    answer = Answer(JobRef(2, 7), job_from_v3(v3_job()), FETCHED)
    flat = flatten([answer], CTX)
    steps = {r["step_instance_id"]: r for r in flat.steps.to_pylist()}
    assert steps[70]["total_time_s"] == 2.0 and steps[70]["retry_count"] == 1
    assert steps[70]["start_time"] == datetime.fromtimestamp(T0 / 1000, UTC)
    assert (steps[70]["fail_ip_num"], steps[70]["success_ip_num"]) == (1, 1)
    assert steps[70]["hosts_complete"] is True
    hosts = sorted(flat.step_hosts.to_pylist(), key=lambda h: h["ip"])
    assert [(h["ip"], h["exit_code"], h["tag"], h["total_time_s"]) for h in hosts] == [
        ("10.0.0.1", 2, None, 1.5), ("10.0.0.2", 0, "ok", 1.5)]  # fmt: skip
    assert hosts[0]["end_time"] == datetime.fromtimestamp((T0 + 1500) / 1000, UTC)
    assert hosts[0]["result_type_text"] == "Non-zero Exit Code"  # v3 sends no text


def test_a_step_read_from_its_job_keeps_only_that_step() -> None:
    job = fill_job_facts(job_from_v3(v3_job()), {"operator": "ops_bot"})
    step = step_from_job(job, 70)
    assert step is not None
    assert step["step_instance_detail"]["operator"] == "ops_bot"
    assert [g["result_type"] for g in step["step_instance_analyse_result"]] == [9, 104]
    assert step_from_job(job, 99) is None
    with pytest.raises(FatalApiError) as info:
        EsbV3().normalise_step(v3_job(), 99)
    assert (info.value.kind, info.value.api_code) == ("not_found", 1244007)
    flat = flatten([Answer(StepRef(2, 7, 70), step, FETCHED)], CTX)
    assert flat.steps.num_rows == 1 and flat.step_hosts.num_rows == 2


def test_groups_from_hosts_are_complete_and_ordered() -> None:
    groups = groups_from_hosts([{"status": 11}, {"status": 9}, {"status": None}, {"status": 9}])
    assert [(g["result_type"], g["count"]) for g in groups] == [(9, 2), (11, 1), (None, 1)]


def test_gateway_step_keeps_group_texts_and_flags_a_capped_group() -> None:
    host = {"bk_host_id": 5, "ip": "10.0.0.5", "ipv6": "fd00::5", "bk_agent_id": "0:ab",
            "bk_cloud_id": 0, "status": 9, "tag": "", "exit_code": 0, "start_time": T0,
            "end_time": T0 + 10, "total_time": 10}  # fmt: skip
    data = {"step_instance_id": 70, "name": "run", "type": 1, "status": 3, "execute_count": 0,
            "start_time": T0, "end_time": T0 + 10, "total_time": 10,
            "step_result_group_list": [{"result_type": 9, "result_type_desc": "执行成功",
                                        "tag": "", "host_size": 3,
                                        "host_result_list": [host]}]}  # fmt: skip
    step = step_from_gateway(data)
    assert step["is_finished"] is True
    flat = flatten([Answer(StepRef(2, 7, 70), step, FETCHED)], CTX)
    row = flat.steps.to_pylist()[0]
    assert row["hosts_complete"] is False  # host_size 3, one listed
    (h,) = flat.step_hosts.to_pylist()
    assert (h["ipv6"], h["bk_agent_id"], h["result_type_text"]) == ("fd00::5", "0:ab", "执行成功")


def test_facts_fill_only_what_is_missing() -> None:
    job = {"job_instance": {"name": "x", "operator": None}, "blocks": []}
    filled = fill_job_facts(job, {"name": "from list", "operator": "ops"})
    assert filled["job_instance"] == {"name": "x", "operator": "ops"}
    assert job["job_instance"]["operator"] is None  # a new dict
    assert fill_job_facts(job, {}) is job


def test_v3_host_columns_fast_and_host_by_host_agree() -> None:
    job = job_from_v3(v3_job())
    fast = flatten([Answer(JobRef(2, 7), job, FETCHED)], CTX).step_hosts.to_pylist()
    hosts = job["blocks"][0]["step_instances"][0]["step_ip_status"]
    hosts[0] = {**hosts[0], "exit_code": "2", "start_time": float(T0)}  # needs conversion
    slow = flatten([Answer(JobRef(2, 7), job, FETCHED)], CTX).step_hosts.to_pylist()
    assert fast == slow
    assert {(h["ip"], h["start_time"]) for h in fast} == {
        (ip, datetime.fromtimestamp(T0 / 1000, UTC)) for ip in ("10.0.0.1", "10.0.0.2")
    }
