"""Pure normalisers: Job 3.x answers (jobv3 ESB, API gateway v3) -> the v2 shape.

jobv3 / gateway v3 send epoch milliseconds and millisecond durations (API reference 8);
the normalised form keeps timestamps as epoch ms (``flatten.parse_time`` reads them) and
turns every duration into seconds, the v2 unit. Fields are read tolerantly: older bk-job
releases call the host ID ``host_id``, and null or missing lists mean "none".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from pipeline.codes import FINISHED_STATUSES

#: per-host fields copied as they are (ESB/gateway names)
_HOST_FIELDS = ("ip", "bk_cloud_id", "ipv6", "bk_agent_id", "tag", "exit_code", "error_code")
_STEP_FIELDS = ("step_instance_id", "step_id", "name", "type", "operator", "status")


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _items(value: Any) -> list[Mapping[str, Any]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def ms_to_s(value: Any) -> float | None:
    """A millisecond duration in seconds; None for null or non-numbers."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value) / 1000
    except ValueError:
        return None


def _finished(status: Any) -> bool | None:
    return status in FINISHED_STATUSES if isinstance(status, int) else None


def host_v3(h: Mapping[str, Any], status_key: str = "status") -> dict[str, Any]:
    """One v3 host result in the normalised form (``status`` is the host result code)."""
    out = {k: h.get(k) for k in _HOST_FIELDS}
    out["status"] = h.get(status_key)
    host_id = h.get("bk_host_id")
    out["bk_host_id"] = host_id if host_id is not None else h.get("host_id")
    out["start_time"] = h.get("start_time")
    out["end_time"] = h.get("end_time")
    out["total_time"] = ms_to_s(h.get("total_time"))
    return out


def _step_v3(step: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {k: step.get(k) for k in _STEP_FIELDS}
    out["execute_count"] = step.get("execute_count")
    for key in ("create_time", "start_time", "end_time"):
        out[key] = step.get(key)
    out["total_time"] = ms_to_s(step.get("total_time"))
    out["step_ip_status"] = [host_v3(h) for h in _items(step.get("step_ip_result_list"))]
    return out


def job_from_v3(data: Any) -> dict[str, Any]:
    """jobv3 / gateway ``get_job_instance_status`` (with ``return_ip_result``) -> v2 job."""
    data = _mapping(data)
    job = _mapping(data.get("job_instance"))
    finished = data.get("finished")
    instance = {
        k: job.get(k)
        for k in ("job_instance_id", "bk_biz_id", "name", "operator", "status")
        + ("create_time", "start_time", "end_time")
    }
    instance["total_time"] = ms_to_s(job.get("total_time"))
    steps = [_step_v3(s) for s in _items(data.get("step_instance_list"))]
    return {
        "is_finished": finished if isinstance(finished, bool) else _finished(job.get("status")),
        "job_instance": instance,
        "blocks": [{"step_instances": [s]} for s in steps],
    }


def groups_from_hosts(hosts: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Complete result groups (every host listed) from one list of host results."""
    by_status: dict[Any, list[Mapping[str, Any]]] = {}
    for h in hosts:
        by_status.setdefault(h.get("status"), []).append(h)
    ordered = sorted(by_status.items(), key=lambda kv: (not isinstance(kv[0], int), kv[0] or 0))
    return [
        {"result_type": code, "result_type_text": None, "count": len(ips), "ip_list": ips}
        for code, ips in ordered
    ]


def step_from_job(job: Any, step_instance_id: int) -> dict[str, Any] | None:
    """One step of a normalised job answer, in the v2 step shape; None when absent."""
    job = _mapping(job)
    operator = _mapping(job.get("job_instance")).get("operator")
    for block in _items(job.get("blocks")):
        for step in _items(block.get("step_instances")):
            if step.get("step_instance_id") != step_instance_id:
                continue
            detail = {k: v for k, v in step.items() if k != "step_ip_status"}
            if detail.get("operator") is None:
                detail["operator"] = operator
            return {
                "is_finished": _finished(step.get("status")),
                "step_instance_detail": detail,
                "step_instance_analyse_result": groups_from_hosts(
                    _items(step.get("step_ip_status"))
                ),
            }
    return None


def step_from_gateway(data: Any) -> dict[str, Any]:
    """Gateway v3 ``get_step_instance_status`` -> v2 step; ``host_size`` is the true
    group size, so a capped host list reads as incomplete."""
    data = _mapping(data)
    detail: dict[str, Any] = {k: data.get(k) for k in _STEP_FIELDS}
    for key in ("execute_count", "create_time", "start_time", "end_time"):
        detail[key] = data.get(key)
    detail["total_time"] = ms_to_s(data.get("total_time"))
    groups = []
    for g in _items(data.get("step_result_group_list")):
        hosts = [host_v3(h) for h in _items(g.get("host_result_list"))]
        size = g.get("host_size")
        groups.append(
            {
                "result_type": g.get("result_type"),
                "result_type_text": g.get("result_type_desc"),
                "count": size if isinstance(size, int) else len(hosts),
                "ip_list": hosts,
            }
        )
    return {
        "is_finished": _finished(data.get("status")),
        "step_instance_detail": detail,
        "step_instance_analyse_result": groups,
    }


def fill_job_facts(data: Any, facts: Mapping[str, Any]) -> Any:
    """Fill job-level fields the answer left null (e.g. ``operator``, which Job 3.x's
    status API does not send) from what discovery's list row said; a new dict."""
    if not facts or not isinstance(data, Mapping):
        return data
    if "job_instance" in data:
        job = dict(_mapping(data.get("job_instance")))
        job.update({k: v for k, v in facts.items() if job.get(k) is None})
        return {**data, "job_instance": job}
    detail = dict(_mapping(data.get("step_instance_detail")))
    if detail.get("operator") is None and facts.get("operator") is not None:
        detail["operator"] = facts["operator"]
    return {**data, "step_instance_detail": detail}
