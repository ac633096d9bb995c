"""``esb-v2``: the seed's ESB v2 ``job`` endpoints (POST JSON).

IDs go both at the top level (Job 3.x) and inside ``params`` (Job 2.x docs), which
satisfies either generation. Answers are already in the normalised (v2) form. v2 has no
list or batch-log API: discovery and ``--with-logs`` use the jobv3 ESB endpoints.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.flavours.base import (
    ESB_JOBV3_PREFIX,
    ESB_V2_PREFIX,
    ApiRequest,
    LogHost,
    list_params,
    log_params,
)


def esb_v2_request(api: str, bk_biz_id: int, ids: dict[str, int]) -> ApiRequest:
    return ApiRequest(api, "POST", f"{ESB_V2_PREFIX}{api}/", {"bk_biz_id": bk_biz_id, **ids,
                                                              "params": ids})  # fmt: skip


class EsbJobv3Lists:
    """Listing and logs through ESB's jobv3 system, which both ESB flavours use (ESB v2's
    ``job`` system has neither call)."""

    def list_request(
        self, bk_biz_id: int, window_ms: tuple[int, int], start: int, length: int
    ) -> ApiRequest:
        api = "get_job_instance_list"
        params = list_params(bk_biz_id, window_ms, start, length)
        return ApiRequest(api, "POST", f"{ESB_JOBV3_PREFIX}{api}/", params)

    def log_request(self, ids: tuple[int, int, int], hosts: Sequence[LogHost]) -> ApiRequest:
        api = "batch_get_job_instance_ip_log"
        return ApiRequest(api, "POST", f"{ESB_JOBV3_PREFIX}{api}/", log_params(ids, hosts))


@dataclass(frozen=True)
class EsbV2(EsbJobv3Lists):
    name: str = "esb-v2"

    def job_request(self, bk_biz_id: int, job_instance_id: int) -> ApiRequest:
        return esb_v2_request(
            "get_job_instance_status", bk_biz_id, {"job_instance_id": job_instance_id}
        )

    def step_request(
        self, bk_biz_id: int, job_instance_id: int, step_instance_id: int
    ) -> ApiRequest:
        ids = {"job_instance_id": job_instance_id, "step_instance_id": step_instance_id}
        return esb_v2_request("get_step_instance_status", bk_biz_id, ids)

    def normalise_job(self, data: Any) -> Any:
        return data

    def normalise_step(self, data: Any, step_instance_id: int) -> Any:
        return data
