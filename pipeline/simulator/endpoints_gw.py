"""API gateway v3 ``get_step_instance_status`` (API reference 5.2): one step, its result
groups (per result_type and tag) with ``host_size`` and every host listed (the gateway
asks bk-job for all group data when no status/tag filter is given), hosts with ``ipv6``
and ``bk_agent_id``. Units: epoch ms and ms durations. ``max_host_num_per_group`` caps
each list; ``status`` (+ ``tag``) lists hosts only for that group; ``batch`` is accepted
(the simulated world has no rolling batches).
"""

from __future__ import annotations

from typing import Any

import orjson

from .context import Call, EndpointContext
from .layout import mix64
from .model import SimStep
from .params import (
    JOB_NOT_FOUND,
    STEP_NOT_FOUND,
    UNSUPPORTED,
    as_long,
    fail,
    require_id,
    require_scope,
)
from .wire import epoch_ms, result_text


def get_step_instance_status(ctx: EndpointContext, call: Call) -> bytes:
    p = call.params
    job_id = require_id(p, "job_instance_id", nested=False)
    step_id = require_id(p, "step_instance_id", nested=False)
    index = ctx.data.job_index(require_scope(p), job_id)
    if index is None:
        raise fail(JOB_NOT_FOUND)
    plan = ctx.data.plan(index)
    order = next((s.order for s in plan.steps if s.step_instance_id == step_id), None)
    if order is None:
        raise fail(STEP_NOT_FOUND)
    if plan.steps[order].type == 3:
        raise fail(UNSUPPORTED)
    cap = as_long(p.get("max_host_num_per_group"))
    only = (as_long(p.get("status")), p.get("tag"))

    def make() -> bytes:
        step = ctx.data.job_at(index).steps[order]
        return orjson.dumps(step_status_gw(step, call.lang, cap, only))

    return ctx.cached(("gw.step", step_id, call.lang, cap, only), make)


def step_status_gw(
    step: SimStep, lang: str, cap: int | None, only: tuple[int | None, Any]
) -> dict[str, Any]:
    groups = []
    for g in step.result_groups(by_tag=True):
        listed = only[0] is None or (g.result_type == only[0] and only[1] in (None, g.tag))
        indexes = g.indexes[:cap] if cap is not None and cap > 0 else g.indexes
        groups.append(
            {
                "result_type": g.result_type,
                "result_type_desc": result_text(g.result_type, lang),
                "tag": g.tag,
                "host_size": len(g.indexes),
                "host_result_list": [_host(step, i, lang) for i in indexes] if listed else [],
            }
        )
    return {
        "step_instance_id": step.step_instance_id,
        "execute_count": step.execute_count,
        "name": step.name,
        "type": step.type,
        "status": step.status,
        "create_time": epoch_ms(step.create_time),
        "start_time": epoch_ms(step.start_time),
        "end_time": epoch_ms(step.end_time),
        "total_time": step.total_time_ms,
        "step_result_group_list": groups,
    }


def agent_id(bk_host_id: int) -> str:
    """A GSE 2.0-style agent ID, stable per host."""
    return f"0:{mix64(bk_host_id, 1):016x}{mix64(bk_host_id, 2):016x}"


def ipv6(bk_host_id: int) -> str | None:
    """Every fourth host is dual-stack."""
    return f"fd00::{bk_host_id:x}" if bk_host_id % 4 == 0 else None


def _host(step: SimStep, i: int, lang: str) -> dict[str, Any]:
    h = step.hosts.row(i)
    return {
        "bk_host_id": h.bk_host_id,
        "ip": h.ip,
        "ipv6": ipv6(h.bk_host_id),
        "bk_agent_id": agent_id(h.bk_host_id),
        "bk_cloud_id": h.bk_cloud_id,
        "bk_cloud_name": "Default Area" if h.bk_cloud_id == 0 else f"cloud-{h.bk_cloud_id}",
        "status": h.result_type,
        "status_desc": result_text(h.result_type, lang),
        "tag": h.tag,
        "exit_code": h.exit_code,
        "start_time": h.start_ms,
        "end_time": h.end_ms,
        "total_time": None if h.start_ms is None or h.end_ms is None else h.end_ms - h.start_ms,
    }
