"""``esb-v3``: ESB ``jobv3/get_job_instance_status`` with ``return_ip_result=true``.

One call per job returns every step and every host (with ``bk_host_id``, ``exit_code``,
``error_code``, ``tag`` and per-host times). A step is read out of its job's answer: the
runner groups the requested steps of one job into one call (see ``units``); a step asked
for on its own (e.g. by ``--wait-finished``) costs one job call. A requested step that is
not in its job's answer is "not found" (1244007), as v2 would say.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pipeline.errors import FatalApiError
from pipeline.flavours.base import ESB_JOBV3_PREFIX, ApiRequest, scope
from pipeline.flavours.esb_v2 import EsbJobv3Lists
from pipeline.flavours.v3shape import job_from_v3, step_from_job

STEP_NOT_FOUND = 1244007


def v3_job_params(bk_biz_id: int, job_instance_id: int) -> dict[str, Any]:
    return {**scope(bk_biz_id), "job_instance_id": job_instance_id, "return_ip_result": True}


def step_of_job(job: Any, step_instance_id: int, api: str) -> dict[str, Any]:
    """The step's v2-shaped answer, or the "not found" a step call would have given."""
    step = step_from_job(job, step_instance_id)
    if step is None:
        raise FatalApiError(
            "not_found",
            f"{api}: step instance {step_instance_id} is not in the job's answer",
            api_code=STEP_NOT_FOUND,
        )
    return step


@dataclass(frozen=True)
class EsbV3(EsbJobv3Lists):
    name: str = "esb-v3"

    def job_request(self, bk_biz_id: int, job_instance_id: int) -> ApiRequest:
        api = "get_job_instance_status"
        return ApiRequest(
            api, "POST", f"{ESB_JOBV3_PREFIX}{api}/", v3_job_params(bk_biz_id, job_instance_id)
        )

    def step_request(
        self, bk_biz_id: int, job_instance_id: int, step_instance_id: int
    ) -> ApiRequest:
        return self.job_request(bk_biz_id, job_instance_id)

    def normalise_job(self, data: Any) -> Any:
        return job_from_v3(data)

    def normalise_step(self, data: Any, step_instance_id: int) -> Any:
        return step_of_job(job_from_v3(data), step_instance_id, "get_job_instance_status")
