"""``batch_get_job_instance_ip_log`` (jobv3 ESB and gateway v3; API reference 5.5).

Logs are made up on request, deterministically from the host's truth: a header, a few
lines of work, and for a failed host an error tail that names its result (and exit code);
a running host's log stops mid-way, a host that never started has an empty log. About
one failed host in five (and a few others) writes a long log (~25 KB) whose error is at
the very end, so a client that keeps the tail keeps the error. Script and SQL steps answer
``script_task_logs`` (log_type 1), file steps ``file_task_logs`` (log_type 2). jobv3 logs
are not HTML-escaped (v2 get_job_instance_log's are).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

import orjson

from pipeline.codes import host_outcome

from .context import Call, EndpointContext
from .layout import mix64
from .model import SimStep
from .params import (
    JOB_NOT_FOUND,
    STEP_NOT_FOUND,
    as_long,
    fail,
    missing_or_invalid,
    require_id,
    require_scope,
)
from .plans import SHANGHAI
from .wire import result_text

MAX_HOSTS: Final = 500
LONG_LINES: Final = 400
_ERRORS: Final = {
    104: "ERROR: command returned a non-zero exit code",
    101: "ERROR: script execution failed: /tmp/bkjob/run.sh: line 12: syntax error",
    13: "ERROR: task timeout, the agent did not report in time",
    102: "ERROR: script execution timeout (killed after 600 s)",
    1: "ERROR: agent abnormal, GSE agent unreachable",
    310: "ERROR: agent abnormal, GSE agent unreachable",
    311: "ERROR: execution account does not exist on this host",
    202: "ERROR: 文件传输失败: connection reset by peer",
    203: "ERROR: source file does not exist: /data/release/pkg.tar.gz",
}


def _ts(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).astimezone(SHANGHAI).strftime("%F %T")


def host_log(seed: int, step: SimStep, i: int) -> str:
    """The log text of host ``i`` of ``step``: a pure function of the simulated world."""
    h = step.hosts.row(i)
    if h.start_ms is None:
        return ""
    t, where = h.start_ms, f"{h.bk_cloud_id}:{h.ip}"
    lines = [
        f"[{_ts(t)}] [bkjob-sim] {step.name!r} on {where} (execute_count {step.execute_count})",
        f"[{_ts(t)}] + cd /tmp/bkjob && export LANG=zh_CN.UTF-8",
        f"[{_ts(t + 5)}] 检查环境: ok",
    ]
    outcome = host_outcome(h.result_type)
    if mix64(seed, step.step_instance_id, i, 31) % (5 if outcome == "failed" else 23) == 0:
        lines += [
            f"[{_ts(t + 10)}] progress {k:04d}/{LONG_LINES}: 处理中 ..." for k in range(LONG_LINES)
        ]
    end = h.end_ms or t
    if outcome == "failed":
        lines.append(f"[{_ts(end)}] {_ERRORS.get(h.result_type, 'ERROR: task failed')}")
        if h.exit_code is not None:
            lines.append(f"[{_ts(end)}] exit code {h.exit_code}")
        lines.append(f"[{_ts(end)}] result: {result_text(h.result_type, 'en')}")
    elif outcome == "running":
        lines.append(f"[{_ts(t + 20)}] still working ...")
    else:
        lines.append(f"[{_ts(end)}] done: {result_text(h.result_type, 'en')}")
    return "\n".join(lines) + "\n"


def _wanted(step: SimStep, params: Any) -> list[int]:
    """Indexes of the hosts asked for (by ID, else by cloud + IP) that the step has."""
    ids = params.get("host_id_list")
    if isinstance(ids, list) and ids:
        if len(ids) > MAX_HOSTS:
            raise missing_or_invalid("host_id_list")
        wanted = {as_long(x) for x in ids}
        return [i for i, hid in enumerate(step.hosts.bk_host_id) if hid in wanted]
    ips = params.get("ip_list")
    if not isinstance(ips, list) or not ips:
        raise missing_or_invalid("host_id_list")
    if len(ips) > MAX_HOSTS:
        raise missing_or_invalid("ip_list")
    pairs = {(as_long(x.get("bk_cloud_id")), x.get("ip")) for x in ips if isinstance(x, dict)}
    h = step.hosts
    return [i for i in range(len(h)) if (h.bk_cloud_id[i], h.ip[i]) in pairs]


def batch_get_job_instance_ip_log(ctx: EndpointContext, call: Call) -> bytes:
    p = call.params
    job_id = require_id(p, "job_instance_id", nested=False)
    step_id = require_id(p, "step_instance_id", nested=False)
    index = ctx.data.job_index(require_scope(p), job_id)
    if index is None:
        raise fail(JOB_NOT_FOUND)
    step = ctx.data.job_at(index).step(step_id)
    if step is None:
        raise fail(STEP_NOT_FOUND)
    seed = ctx.data.seed
    logs = [(step.hosts.row(i), host_log(seed, step, i)) for i in _wanted(step, p)]
    data: dict[str, Any] = {"job_instance_id": job_id, "step_instance_id": step_id}
    if step.type == 2:
        data["log_type"] = 2
        data["file_task_logs"] = [
            {**_who(h), "file_logs": [_file_log(h, text)]} for h, text in logs
        ]
    else:
        data["log_type"] = 1
        data["script_task_logs"] = [{**_who(h), "log_content": text} for h, text in logs]
    return orjson.dumps(data)


def _who(h: Any) -> dict[str, Any]:
    return {"bk_host_id": h.bk_host_id, "ip": h.ip, "bk_cloud_id": h.bk_cloud_id}


def _file_log(h: Any, text: str) -> dict[str, Any]:
    failed = host_outcome(h.result_type) == "failed"
    return {
        "mode": 1,
        "src_ip": {"bk_host_id": None, "bk_cloud_id": 0, "ip": "10.0.0.1"},
        "src_path": "/data/release/pkg.tar.gz",
        "dest_ip": _who(h),
        "dest_path": "/data/pkg/",
        "status": 5 if failed else 4,
        "log_content": text,
        "size": "12.5 MB",
        "speed": "0 KB/s" if failed else "20.1 MB/s",
        "process": "0%" if failed else "100%",
    }
