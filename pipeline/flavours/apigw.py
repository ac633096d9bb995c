"""``apigw``: the bk-job API gateway v3 resources, ``{api_url}/api/bk-job/{stage}/api/v3/``.

Auth only in the ``X-Bkapi-Authorization`` header (the gateway ignores it elsewhere),
``bk_scope_type``/``bk_scope_id`` instead of ``bk_biz_id``, GET with query parameters
(the batch log API is POST). Steps use ``get_step_instance_status``, whose result groups
list every host (``host_size`` is the true group size) with ``ipv6`` and ``bk_agent_id``;
``batch=0`` asks for every rolling batch (absent means the current batch only). Gateway
errors come with real HTTP statuses and ``X-Bkapi-Error-Code`` (see ``client.classify``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pipeline.flavours.base import (
    DEFAULT_APIGW_STAGE,
    ApiRequest,
    LogHost,
    Method,
    list_params,
    log_params,
    scope,
)
from pipeline.flavours.esb_v3 import v3_job_params
from pipeline.flavours.v3shape import job_from_v3, step_from_gateway


def gateway_path(stage: str, api: str) -> str:
    return f"/api/bk-job/{stage}/api/v3/{api}"


@dataclass(frozen=True)
class Apigw:
    stage: str = DEFAULT_APIGW_STAGE
    name: str = "apigw"

    def _request(self, api: str, method: Method, params: dict[str, Any]) -> ApiRequest:
        return ApiRequest(api, method, gateway_path(self.stage, api), params)

    def job_request(self, bk_biz_id: int, job_instance_id: int) -> ApiRequest:
        params = v3_job_params(bk_biz_id, job_instance_id)
        return self._request("get_job_instance_status", "GET", params)

    def step_request(
        self, bk_biz_id: int, job_instance_id: int, step_instance_id: int
    ) -> ApiRequest:
        params = {
            **scope(bk_biz_id),
            "job_instance_id": job_instance_id,
            "step_instance_id": step_instance_id,
            "batch": 0,
        }
        return self._request("get_step_instance_status", "GET", params)

    def normalise_job(self, data: Any) -> Any:
        return job_from_v3(data)

    def normalise_step(self, data: Any, step_instance_id: int) -> Any:
        return step_from_gateway(data)

    def list_request(
        self, bk_biz_id: int, window_ms: tuple[int, int], start: int, length: int
    ) -> ApiRequest:
        params = list_params(bk_biz_id, window_ms, start, length)
        return self._request("get_job_instance_list", "GET", params)

    def log_request(self, ids: tuple[int, int, int], hosts: Sequence[LogHost]) -> ApiRequest:
        return self._request("batch_get_job_instance_ip_log", "POST", log_params(ids, hosts))
