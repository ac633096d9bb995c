from __future__ import annotations

import copy
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest

from pipeline.errors import FatalApiError
from pipeline.flatten import Answer, FlattenContext, error_batch, flatten, parse_time
from pipeline.ids import JobRef, StepRef
from pipeline.schema import FETCH_ERRORS, STEP_HOSTS, STEPS

SEED = json.loads((Path(__file__).parent / "data" / "seed_step_status.json").read_text())["data"]
SHANGHAI = ZoneInfo("Asia/Shanghai")
CTX = FlattenContext(SHANGHAI, "run-1")
FETCHED = datetime(2026, 11, 30, 1, 2, 3, tzinfo=UTC)
REF = StepRef(2, 490001, 790001)


def flat_one(data: Any, ref: StepRef | JobRef = REF, ctx: FlattenContext = CTX) -> Any:
    return flatten([Answer(ref, data, FETCHED)], ctx)


def test_seed_example_flattens_exactly() -> None:
    flat = flat_one(SEED)
    assert flat.steps.schema == STEPS.schema
    assert flat.step_hosts.schema == STEP_HOSTS.schema
    assert flat.steps.to_pylist() == [
        {
            "bk_biz_id": 2,
            "job_instance_id": 490001,
            "step_instance_id": 790001,
            "step_id": 10000,
            "name": "my_job",
            "operator": "admin",
            "step_type": 1,
            "step_type_name": "script",
            "status": 3,
            "status_name": "Success",
            "outcome": "success",
            "is_finished": True,
            "retry_count": 0,
            "start_time": datetime(2019, 6, 7, 4, 15, 14, tzinfo=UTC),
            "end_time": datetime(2019, 6, 7, 4, 15, 42, tzinfo=UTC),
            "total_time_s": 28.395,
            "total_ip_num": 1,
            "success_ip_num": 0,
            "fail_ip_num": 1,
            "running_ip_num": 1,
            "abnormal_agent_ip_num": 0,
            "hosts_complete": True,
            "fetched_at": FETCHED,
            "run_id": "run-1",
            "day": "2019-06-07",
        }
    ]
    assert flat.step_hosts.to_pylist() == [
        {
            "bk_biz_id": 2,
            "job_instance_id": 490001,
            "step_instance_id": 790001,
            "bk_cloud_id": 0,
            "ip": "10.25.0.2",
            "result_type": 3,
            "result_type_text": "Success",
            "outcome": "success",
            "bk_host_id": None,
            # the v3 per-host columns: v2 sends none of them
            **dict.fromkeys(
                ("ipv6", "bk_agent_id", "exit_code", "error_code", "tag")
                + ("start_time", "end_time", "total_time_s")
            ),
            "run_id": "run-1",
            "day": "2019-06-07",
        }
    ]
    assert flat.step_keys == [(2, 490001, 790001)]


def job3_answer() -> dict[str, Any]:
    """The seed answer as Job 3.x sends it: execute_count, null counters, first group only."""
    data = copy.deepcopy(SEED)
    detail = data["step_instance_detail"]
    del detail["retry_count"]
    detail.update(execute_count=2, status=4, target_ips="0:10.0.0.1,0:10.0.0.2,0:10.0.0.3")
    for key in ("total_ip_num", "success_ip_num", "fail_ip_num", "running_ip_num"):
        detail[key] = None
    detail["abnormal_agent_ip_num"] = None
    data["step_instance_analyse_result"] = [
        {"result_type": 9, "result_type_text": "执行成功", "count": 1,
         "ip_list": [{"bk_host_id": 77, "bk_cloud_id": 0, "ip": "10.0.0.1"}]},
        {"result_type": 104, "result_type_text": "脚本返回码非零", "count": 0},
    ]  # fmt: skip
    return data


def test_job3_quirks_counters_from_hosts_and_incomplete_flag() -> None:
    row = flat_one(job3_answer()).steps.to_pylist()[0]
    assert row["retry_count"] == 2
    assert row["outcome"] == "failed"
    assert row["total_ip_num"] == 3  # from target_ips
    assert (row["success_ip_num"], row["fail_ip_num"], row["running_ip_num"]) == (1, 0, 0)
    assert row["hosts_complete"] is False
    hosts = flat_one(job3_answer()).step_hosts.to_pylist()
    assert [(h["ip"], h["bk_host_id"], h["result_type_text"]) for h in hosts] == [
        ("10.0.0.1", 77, "执行成功")
    ]


def test_count_larger_than_ip_list_is_incomplete() -> None:
    data = copy.deepcopy(SEED)
    data["step_instance_analyse_result"][0]["count"] = 5
    assert flat_one(data).steps.column("hosts_complete").to_pylist() == [False]


def test_missing_fields_and_unknown_codes_are_tolerated() -> None:
    data = {
        "is_finished": False,
        "step_instance_detail": {"status": "77", "type": 9, "start_time": "", "total_time": None},
        "step_instance_analyse_result": {"result_type": 777, "ip_list": [{"ip": "1.2.3.4"}]},
    }
    flat = flat_one(data)
    row = flat.steps.to_pylist()[0]
    assert row["status"] == 77 and row["status_name"] == "unknown(77)"
    assert row["step_type_name"] == "unknown(9)" and row["outcome"] == "unknown"
    assert row["start_time"] is None and row["end_time"] is None
    assert row["day"] == "2026-11-30"  # not started: the fetch date in the API's zone
    assert row["total_ip_num"] == 1 and row["is_finished"] is False
    host = flat.step_hosts.to_pylist()[0]
    assert host["result_type_text"] == "unknown(777)" and host["outcome"] == "unknown"
    assert host["bk_cloud_id"] is None


def test_empty_answer_gives_one_step_row_and_no_hosts() -> None:
    flat = flat_one({})
    assert flat.steps.num_rows == 1 and flat.step_hosts.num_rows == 0
    assert flat.steps.column("outcome").to_pylist() == ["unknown"]


def test_group_without_text_gets_the_english_name() -> None:
    data = copy.deepcopy(SEED)
    data["step_instance_analyse_result"][0].update(result_type=13, result_type_text=None)
    host = flat_one(data).step_hosts.to_pylist()[0]
    assert (host["result_type_text"], host["outcome"]) == ("Task Timeout", "failed")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2019-06-07 12:15:14", datetime(2019, 6, 7, 4, 15, 14, tzinfo=UTC)),
        ("2019-06-07 12:15:14 +0800", datetime(2019, 6, 7, 4, 15, 14, tzinfo=UTC)),
        ("2019-06-07 12:15:14 +0000", datetime(2019, 6, 7, 12, 15, 14, tzinfo=UTC)),
        (1559880914000, datetime(2019, 6, 7, 4, 15, 14, tzinfo=UTC)),
        ("garbage", None),
        (None, None),
        ("", None),
    ],
)
def test_parse_time(value: Any, expected: datetime | None) -> None:
    assert parse_time(value, SHANGHAI) == expected


def test_api_timezone_changes_utc_and_day() -> None:
    utc_ctx = FlattenContext(ZoneInfo("UTC"), "r")
    row = flat_one(SEED, ctx=utc_ctx).steps.to_pylist()[0]
    assert row["start_time"] == datetime(2019, 6, 7, 12, 15, 14, tzinfo=UTC)
    data = copy.deepcopy(SEED)
    data["step_instance_detail"]["start_time"] = "2019-06-08 02:00:00"
    assert flat_one(data).steps.column("day").to_pylist() == ["2019-06-08"]
    assert flat_one(data, ctx=utc_ctx).steps.column("day").to_pylist() == ["2019-06-08"]
    ny = FlattenContext(ZoneInfo("America/New_York"), "r")
    data["step_instance_detail"]["start_time"] = "2019-06-08 02:00:00 +0800"
    assert flat_one(data, ctx=ny).steps.column("day").to_pylist() == ["2019-06-07"]


JOB_ANSWER = {
    "is_finished": True,
    "job_instance": {"job_instance_id": 5, "operator": "ops", "status": 4},
    "blocks": [
        {"step_instances": [{
            "step_instance_id": 51, "step_id": 1, "name": "a", "type": 1, "status": 3,
            "execute_count": 0, "start_time": "2026-11-29 10:00:00",
            "end_time": "2026-11-29 10:00:05", "total_time": 5.0,
            "step_ip_status": [{"ip": "10.0.0.1", "bk_cloud_id": 0, "status": 9},
                               {"ip": "10.0.0.2", "bk_cloud_id": 0, "status": 104},
                               {"ip": "10.0.0.3", "bk_cloud_id": 1, "status": 9}],
        }]},
        {"step_instances": [{"step_instance_id": 52, "name": "b", "type": 3, "status": 1,
                             "operator": "lisi", "step_ip_status": []}]},
    ],
}  # fmt: skip


def test_job_status_answer_gives_every_step_and_host() -> None:
    flat = flat_one(JOB_ANSWER, ref=JobRef(3, 5))
    steps = flat.steps.to_pylist()
    assert [s["step_instance_id"] for s in steps] == [51, 52]
    assert [s["operator"] for s in steps] == ["ops", "lisi"]
    assert steps[0]["total_ip_num"] == 3 and steps[0]["fail_ip_num"] == 1
    assert steps[0]["success_ip_num"] == 2 and steps[0]["hosts_complete"] is True
    assert steps[1]["is_finished"] is False and steps[1]["step_type_name"] == "manual_confirm"
    hosts = flat.step_hosts.to_pylist()
    assert sorted((h["ip"], h["result_type_text"]) for h in hosts) == [
        ("10.0.0.1", "Success"),
        ("10.0.0.2", "Non-zero Exit Code"),
        ("10.0.0.3", "Success"),
    ]
    assert flat.step_keys == [(3, 5, 51), (3, 5, 52)]


def test_many_answers_make_one_batch_per_table() -> None:
    answers = [Answer(StepRef(2, 1, i), SEED, FETCHED) for i in range(1, 101)]
    flat = flatten(answers, CTX)
    assert flat.steps.num_rows == 100 and flat.step_hosts.num_rows == 100
    assert flat.steps.column("step_instance_id").to_pylist() == list(range(1, 101))


def test_error_batch() -> None:
    err = FatalApiError("not_found", "gone", http_status=200, api_code=1244007)
    err.attempts = 1
    batch = error_batch([(StepRef(2, 3, 4), err), (JobRef(2, 9), err)], FETCHED, "r")
    assert batch.schema == FETCH_ERRORS.schema
    rows = batch.to_pylist()
    assert [r["step_instance_id"] for r in rows] == [4, None]
    assert rows[0]["error_kind"] == "not_found" and rows[0]["api_code"] == 1244007
    assert isinstance(batch, pa.RecordBatch)
