"""ESB ``jobv3`` endpoints: get_job_instance_status and get_job_instance_list.

Job 3.x units: epoch milliseconds and millisecond durations; IDs at the top level only
(API reference section 5).
"""

from __future__ import annotations

from typing import Any, cast

import orjson

from .context import Call, EndpointContext
from .model import SimJob, SimStep
from .params import (
    INVALID_PARAMS,
    JOB_NOT_FOUND,
    ApiFailure,
    as_bool,
    as_long,
    fail,
    missing_or_invalid,
    require_id,
    require_scope,
)
from .plans import JobPlan
from .wire import epoch_ms

#: Consts.MAX_SEARCH_TASK_HISTORY_RANGE_MILLS
MAX_RANGE_MS = 30 * 86_400_000
RUNNING_JOB = frozenset({2, 7, 10})


def _scope(bk_biz_id: int) -> dict[str, Any]:
    return {"bk_scope_type": "biz", "bk_scope_id": str(bk_biz_id), "bk_biz_id": bk_biz_id}


# -- get_job_instance_status ------------------------------------------------------------------
def get_job_instance_status(ctx: EndpointContext, call: Call) -> bytes:
    job_id = require_id(call.params, "job_instance_id", nested=False)
    biz = require_scope(call.params)
    index = ctx.data.job_index(biz, job_id)
    if index is None:
        raise fail(JOB_NOT_FOUND)
    with_hosts = as_bool(call.params.get("return_ip_result"))

    def make() -> bytes:
        return orjson.dumps(job_status_v3(ctx.data.job_at(index), with_hosts))

    return ctx.cached(("v3.job", index, with_hosts), make)


def job_status_v3(job: SimJob, with_hosts: bool) -> dict[str, Any]:
    return {
        "finished": job.is_finished,
        "job_instance": {
            "job_instance_id": job.job_instance_id,
            **_scope(job.bk_biz_id),
            "name": job.name,
            "status": job.status,
            "create_time": epoch_ms(job.create_time),
            "start_time": epoch_ms(job.start_time),
            "end_time": epoch_ms(job.end_time),
            "total_time": job.total_time_ms,
        },
        "step_instance_list": [_step_v3(s, with_hosts) for s in job.steps],
    }


def _step_v3(step: SimStep, with_hosts: bool) -> dict[str, Any]:
    d: dict[str, Any] = {
        "step_instance_id": step.step_instance_id,
        "name": step.name,
        "type": step.type,
        "status": step.status,
        "execute_count": step.execute_count,
        "create_time": epoch_ms(step.create_time),
        "start_time": epoch_ms(step.start_time),
        "end_time": epoch_ms(step.end_time),
        "total_time": step.total_time_ms,
    }
    if with_hosts:
        # hosts get rows when the step starts: none for a step that never ran (issue #522)
        d["step_ip_result_list"] = [] if step.status == 1 else _host_rows(step)
    return d


def _host_rows(step: SimStep) -> list[dict[str, Any]]:
    return [
        {
            "bk_host_id": h.bk_host_id,
            "ip": h.ip,
            "bk_cloud_id": h.bk_cloud_id,
            "status": h.result_type,
            "tag": h.tag,
            "exit_code": h.exit_code,
            "error_code": h.error_code,
            "start_time": h.start_ms,
            "end_time": h.end_ms,
            "total_time": None if h.start_ms is None or h.end_ms is None else h.end_ms - h.start_ms,
        }
        for h in step.hosts
    ]


# -- get_job_instance_list --------------------------------------------------------------------
def _bad_request(message: str) -> ApiFailure:
    return ApiFailure(1240003, message)


def _window(params: Any) -> tuple[int, int]:
    start = as_long(params.get("create_time_start"))
    end = as_long(params.get("create_time_end"))
    if start is None or start < 1:
        raise missing_or_invalid("create_time_start")
    if end is None or end < 1 or end - start <= 0:
        raise missing_or_invalid("create_time_end")
    if end - start > MAX_RANGE_MS:
        raise fail(INVALID_PARAMS)
    return start, end


def _page(params: Any) -> tuple[int, int]:
    start = as_long(params.get("start", 0))
    length = as_long(params.get("length", 20))
    if start is None or start < 0:
        raise _bad_request("start: must be greater than or equal to 0")
    if length is None or not 1 <= length <= 1000:
        raise _bad_request("length: must be between 1 and 1000")
    return start, length


def _filters(params: Any) -> tuple[tuple[str, Any], ...]:
    """The row filters given, as a hashable key; bk-job ignores them all for a job ID."""
    job_id = as_long(params.get("job_instance_id"))
    if job_id is not None and job_id > 0:
        return (("job_instance_id", job_id),)
    task_type = params.get("type")
    if task_type is not None and as_long(task_type) not in (0, 1, 2):
        raise fail(INVALID_PARAMS)
    out: list[tuple[str, Any]] = []
    for name in ("operator", "name", "ip"):
        if params.get(name) not in (None, ""):
            out.append((name, str(params[name])))
    for name in ("launch_mode", "type", "status"):
        if as_long(params.get(name)) is not None:
            out.append((name, as_long(params[name])))
    return tuple(out)


def _plan_matches(
    ctx: EndpointContext, plan: JobPlan, filters: tuple[tuple[str, Any], ...]
) -> bool:
    for name, want in filters:
        if name == "job_instance_id" and plan.job_instance_id != want:
            return False
        if name == "operator" and plan.operator != want:
            return False
        if name == "name" and want not in plan.name:
            return False
        if name == "launch_mode" and plan.start_way != want:
            return False
        if name == "type" and plan.type != want:
            return False
        if name == "status" and plan.status != want:
            return False
        if name == "ip" and all(want not in s.hosts.ip for s in ctx.data.job_at(plan.index).steps):
            return False
    return True


def _matches(ctx: EndpointContext, biz: int, lo: int, hi: int, filters: Any) -> list[int]:
    """Job indexes in the window, newest first (create time falls as the index does)."""
    layout = ctx.data.layout
    first = layout.first_index_at_or_after(lo)
    last = layout.first_index_at_or_after(hi + 1)  # bounds are inclusive
    out: list[int] = []
    for i in range(last - 1, first - 1, -1):
        if layout.business(i).bk_biz_id != biz:
            continue
        if filters and not _plan_matches(ctx, ctx.data.plan(i), filters):
            continue
        out.append(i)
    return out


def get_job_instance_list(ctx: EndpointContext, call: Call) -> bytes:
    biz = require_scope(call.params)
    lo, hi = _window(call.params)
    start, length = _page(call.params)
    filters = _filters(call.params)
    key = ("v3.list", biz, lo, hi, filters)
    found = cast(list[int], ctx.memo(key, lambda: _matches(ctx, biz, lo, hi, filters)))
    rows = [_row(ctx, ctx.data.plan(i)) for i in found[start : start + length]]
    page = {"start": start, "length": length, "total": len(found), "data": rows or None}
    return orjson.dumps(page)


def _row(ctx: EndpointContext, plan: JobPlan) -> dict[str, Any]:
    end = plan.end_ms
    if end is None and plan.status in RUNNING_JOB:
        total: int | None = ctx.data.layout.now_ms - plan.start_ms  # computed on the fly
    else:
        total = None if end is None else end - plan.start_ms
    row: dict[str, Any] = {"job_instance_id": plan.job_instance_id, **_scope(plan.bk_biz_id)}
    if plan.bk_job_id > 0:
        row["job_template_id"] = 500 + plan.bk_job_id % 1000
        row["job_plan_id"] = plan.bk_job_id
    row.update(
        name=plan.name,
        operator=plan.operator,
        launch_mode=plan.start_way,
        status=plan.status,
        type=plan.type,
        create_time=plan.create_ms,
        start_time=plan.start_ms,
        end_time=end,
        total_time=total,
    )
    return row
