"""ESB v2 ``job`` endpoints: get_step_instance_status and get_job_instance_status.

2.x mode answers like the BKDocs pages (retry_count, filled counters, every result group
listed); 3.x mode like Job 3.x behind ESB (execute_count, null counters, only the first
result group carries hosts; API reference sections 3 and 4).
"""

from __future__ import annotations

from typing import Any

import orjson

from pipeline.codes import FINISHED_STATUSES

from .context import Call, EndpointContext
from .model import SimJob, SimStep, finished_copy
from .params import JOB_NOT_FOUND, STEP_NOT_FOUND, UNSUPPORTED, fail, require_id, require_scope
from .wire import put_optional, result_text, seconds, v2_time

COUNTERS = (
    "total_ip_num",
    "success_ip_num",
    "fail_ip_num",
    "running_ip_num",
    "abnormal_agent_ip_num",
)


def find_job(ctx: EndpointContext, call: Call) -> int:
    """The job's index after bk-job's checks; cheap (nothing is generated).

    3.x mode ignores IDs inside ``params``, as Job 3.x does.
    """
    job_id = require_id(call.params, "job_instance_id", not ctx.data.job3)
    biz = require_scope(call.params)
    index = ctx.data.job_index(biz, job_id)
    if index is None:
        raise fail(JOB_NOT_FOUND)
    return index


def get_step_instance_status(ctx: EndpointContext, call: Call) -> bytes:
    nested = not ctx.data.job3
    require_id(call.params, "job_instance_id", nested)
    step_id = require_id(call.params, "step_instance_id", nested)
    index = find_job(ctx, call)
    plan = ctx.data.plan(index)
    order = next((s.order for s in plan.steps if s.step_instance_id == step_id), None)
    if order is None:
        raise fail(STEP_NOT_FOUND)
    if plan.steps[order].type == 3:
        raise fail(UNSUPPORTED)  # bk-job: no result view for a manual confirmation
    done = plan.steps[order].status not in FINISHED_STATUSES and ctx.poll_finishes(step_id)

    def make() -> bytes:
        step = ctx.data.job_at(index).steps[order]
        if done:
            step = finished_copy(step, ctx.data.now)
        return orjson.dumps(step_status_data(step, ctx.data.job3, call.lang))

    # the cache is asked before the job is generated: repeat calls cost no generation
    return ctx.cached(("v2.step", step_id, call.lang, done), make)


def get_job_instance_status(ctx: EndpointContext, call: Call) -> bytes:
    index = find_job(ctx, call)

    def make() -> bytes:
        return orjson.dumps(job_status_data(ctx.data.job_at(index), ctx.data.job3))

    return ctx.cached(("v2.job", index, call.lang), make)


# -- get_step_instance_status ---------------------------------------------------------------
def step_status_data(step: SimStep, job3: bool, lang: str) -> dict[str, Any]:
    return {
        "is_finished": step.is_finished,
        "step_instance_detail": step_detail(step, job3),
        "step_instance_analyse_result": analyse_groups(step, job3, lang),
    }


def _scope(d: dict[str, Any], bk_biz_id: int) -> None:
    d["bk_scope_type"] = "biz"
    d["bk_scope_id"] = str(bk_biz_id)


def step_detail(step: SimStep, job3: bool) -> dict[str, Any]:
    hosts = step.hosts
    d: dict[str, Any] = {
        "step_instance_id": step.step_instance_id,
        "step_id": step.step_id,
        "job_instance_id": step.job_instance_id,
        "bk_biz_id": step.bk_biz_id,
        "name": step.name,
        "type": step.type,
        "operator": step.operator,
        "status": step.status,
        "target_ips": ",".join(
            f"{c}:{ip}" for c, ip in zip(hosts.bk_cloud_id, hosts.ip, strict=True)
        ),
    }
    if job3:
        _scope(d, step.bk_biz_id)
        d["abnormal_agent_ips"] = None  # never set by Job 3.x
        d["execute_count"] = step.execute_count
        d.update(dict.fromkeys(COUNTERS))
    else:
        d["abnormal_agent_ips"] = ",".join(step.abnormal_agent_ips())
        d["retry_count"] = step.execute_count
        d.update(step.counters())
    put_optional(d, "start_time", v2_time(step.start_time), job3)
    put_optional(d, "end_time", v2_time(step.end_time), job3)
    put_optional(d, "total_time", seconds(step.total_time_ms), job3)
    return d


def _ip_list(step: SimStep, indexes: tuple[int, ...], job3: bool) -> list[dict[str, Any]]:
    h = step.hosts
    if not job3:
        if len(indexes) == len(h):  # one group holds every host: no index lookups
            return [{"bk_cloud_id": c, "ip": ip} for c, ip in zip(h.bk_cloud_id, h.ip, strict=True)]
        return [{"bk_cloud_id": h.bk_cloud_id[i], "ip": h.ip[i]} for i in indexes]
    # the 3.x DTO (EsbIpDTO) has more fields, left null by this endpoint
    return [
        {
            "bk_host_id": h.bk_host_id[i],
            "bk_cloud_id": h.bk_cloud_id[i],
            "ip": h.ip[i],
            "ipv6": None,
            "bk_agent_id": None,
            "bk_cloud_name": None,
            "alive": None,
        }
        for i in indexes
    ]


def analyse_groups(step: SimStep, job3: bool, lang: str) -> list[dict[str, Any]]:
    """2.x: one group per result_type, all hosts listed. 3.x: groups per (result, tag),
    only the first lists its hosts; the others say ``count: 0`` and have no ``ip_list``."""
    out: list[dict[str, Any]] = []
    for n, group in enumerate(step.result_groups(by_tag=job3)):
        item: dict[str, Any] = {
            "result_type": group.result_type,
            "result_type_text": result_text(group.result_type, lang),
        }
        if job3 and n > 0:
            item["count"] = 0
        else:
            item["count"] = len(group.indexes)
            item["ip_list"] = _ip_list(step, group.indexes, job3)
        out.append(item)
    return out


# -- get_job_instance_status ----------------------------------------------------------------
def job_status_data(job: SimJob, job3: bool) -> dict[str, Any]:
    return {
        "is_finished": job.is_finished,
        "job_instance": job_instance(job, job3),
        "blocks": [_block(step, job3) for step in job.steps],
    }


def job_instance(job: SimJob, job3: bool) -> dict[str, Any]:
    d: dict[str, Any] = {
        "job_instance_id": job.job_instance_id,
        "bk_job_id": job.bk_job_id,
        "bk_biz_id": job.bk_biz_id,
        "name": job.name,
        "operator": job.operator,
        "status": job.status,
        "start_way": job.start_way,
        "current_step_instance_id": job.current_step_instance_id,
        "create_time": v2_time(job.create_time),
    }
    if job3:
        _scope(d, job.bk_biz_id)
    put_optional(d, "start_time", v2_time(job.start_time), job3)
    put_optional(d, "end_time", v2_time(job.end_time), job3)
    put_optional(d, "total_time", seconds(job.total_time_ms), job3)
    return d


def _block(step: SimStep, job3: bool) -> dict[str, Any]:
    instance = _step_instance(step, job3)
    if job3:
        return {"step_instances": [instance]}  # 3.x: one block per step
    return {
        "type": step.type,
        "block_order": step.order + 1,
        "block_name": step.name,
        "step_instances": [instance],
    }


def _step_instance(step: SimStep, job3: bool) -> dict[str, Any]:
    h = step.hosts
    d: dict[str, Any] = {
        "step_instance_id": step.step_instance_id,
        "step_id": step.step_id,
        "name": step.name,
        "type": step.type,
        "operator": step.operator,
        "status": step.status,
        "create_time": v2_time(step.create_time),
    }
    if job3:
        d["execute_count"] = step.execute_count
        d["pause"] = None
    else:
        d["retry_count"] = step.execute_count
        d["order"] = step.order + 1
        d["operation_list"] = []
    put_optional(d, "start_time", v2_time(step.start_time), job3)
    put_optional(d, "end_time", v2_time(step.end_time), job3)
    put_optional(d, "total_time", seconds(step.total_time_ms), job3)
    d["step_ip_status"] = [
        {"ip": ip, "bk_cloud_id": cloud, "status": code}
        for ip, cloud, code in zip(h.ip, h.bk_cloud_id, h.result_type, strict=True)
    ]
    return d
