"""Host log tails: the pure parts (tails, rows, batching by 500)."""

from __future__ import annotations

import pyarrow as pa

from pipeline.flavours import Apigw, EsbV3, LogHost
from pipeline.logs_fetch import HostLogs, _Step, log_rows, log_text, tail
from pipeline.schema import STEP_HOSTS


def test_tail_keeps_the_end_on_a_character_boundary() -> None:
    assert tail("short", 10) == ("short", False)
    text = "开始\n" + "错误" * 1000 + "\nexit code 2\n"
    kept, cut = tail(text, 1024)
    assert cut and text.endswith(kept) and len(kept.encode()) <= 1024
    assert len(kept.encode()) >= 1024 - 2  # at most one partial character dropped


def test_log_text_of_script_and_file_logs() -> None:
    assert log_text({"log_content": "a\n"}) == "a\n"
    files = {"file_logs": [{"log_content": "x"}, {"mode": 0}, {"log_content": "y"}]}
    assert log_text(files) == "x\ny"
    assert log_text({"log_content": None}) is None and log_text({"file_logs": []}) is None


def test_rows_match_hosts_by_id_else_cloud_and_ip() -> None:
    step = _Step("2026-11-28", [LogHost(0, "10.0.0.1", 11), LogHost(1, "10.0.0.2", None)])
    data = {"log_type": 1, "script_task_logs": [
        {"bk_host_id": 11, "ip": "10.0.0.1", "bk_cloud_id": 0, "log_content": "x" * 3000},
        {"bk_host_id": None, "ip": "10.0.0.2", "bk_cloud_id": 1, "log_content": "ok"},
        {"bk_host_id": 99, "ip": "10.9.9.9", "bk_cloud_id": 0, "log_content": "not asked"},
    ]}  # fmt: skip
    rows = log_rows(data, (2, 7, 70), step, 1024)
    assert [(r["ip"], r["log_truncated"], len(r["log_tail"])) for r in rows] == [
        ("10.0.0.1", True, 1024), ("10.0.0.2", False, 2)]  # fmt: skip
    assert {r["day"] for r in rows} == {"2026-11-28"} and rows[0]["log_type"] == 1
    assert log_rows(None, (2, 7, 70), step, 1024) == []


def failed_hosts(n: int, with_ids: bool = True) -> pa.RecordBatch:
    rows = [{"bk_biz_id": 2, "job_instance_id": 7, "step_instance_id": 70, "bk_cloud_id": 0,
             "ip": f"10.0.{i // 250}.{i % 250}", "bk_host_id": i + 1 if with_ids else None,
             "outcome": "failed" if i % 4 else "success", "day": "2026-11-28"}
            for i in range(n)]  # fmt: skip
    return pa.RecordBatch.from_pylist(rows, schema=STEP_HOSTS.schema)


def test_failed_hosts_are_asked_for_in_calls_of_at_most_500() -> None:
    logs = HostLogs(tail_kib=8)
    logs.add(failed_hosts(1600))  # 1200 failed
    reqs = [req for _, _, req in logs.requests(EsbV3())]
    sizes = [len(r.params["host_id_list"]) for r in reqs]
    assert sizes == [500, 500, 200]
    assert reqs[0].path == "/api/c/compapi/v2/jobv3/batch_get_job_instance_ip_log/"
    no_ids = HostLogs()
    no_ids.add(failed_hosts(8, with_ids=False))
    (_, _, req), = no_ids.requests(Apigw())  # fmt: skip
    assert len(req.params["ip_list"]) == 6 and req.method == "POST"
    assert req.path == "/api/bk-job/prod/api/v3/batch_get_job_instance_ip_log"
