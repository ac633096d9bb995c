"""What every API flavour shares: the request description and the small interface.

A flavour builds the request for a job or a step, and normalises the answer into the
**normalised form** that :mod:`pipeline.flatten` consumes, which is the ESB v2 shape:

- a job: ``{"is_finished", "job_instance": {...}, "blocks": [{"step_instances": [step]}]}``
  where each step carries ``step_ip_status``: one dict per host (``ip``, ``bk_cloud_id``,
  ``status``, and where the API sends them ``bk_host_id``, ``ipv6``, ``bk_agent_id``,
  ``tag``, ``exit_code``, ``error_code``, ``start_time``, ``end_time``, ``total_time``);
- a step: ``{"is_finished", "step_instance_detail": {...}, "step_instance_analyse_result":
  [group]}``, each group ``{"result_type", "result_type_text", "count", "ip_list"}``.

Times are v2 strings (``YYYY-MM-DD HH:mm:ss`` in --api-timezone) or epoch milliseconds
(numbers); every ``total_time`` is in **seconds**, as in v2. Normalisers are pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal, Protocol

ESB_V2_PREFIX: Final = "/api/c/compapi/v2/job/"
ESB_JOBV3_PREFIX: Final = "/api/c/compapi/v2/jobv3/"
DEFAULT_APIGW_STAGE: Final = "prod"
#: bk-job's batch log API takes at most this many hosts a call (else 1241007)
MAX_LOG_HOSTS: Final = 500

Method = Literal["GET", "POST"]


@dataclass(frozen=True)
class ApiRequest:
    """One API call: ``api`` names it in messages, ``path`` is appended to the base URL.

    GET sends ``params`` as the query string, POST as a JSON body. Credentials are never
    here: the client puts them in the ``X-Bkapi-Authorization`` header.
    """

    api: str
    method: Method
    path: str
    params: Mapping[str, Any]


@dataclass(frozen=True)
class LogHost:
    """A host whose log is wanted: by ``bk_host_id`` where known, else cloud area + IP."""

    bk_cloud_id: int | None
    ip: str | None
    bk_host_id: int | None


class Flavour(Protocol):
    """Request building and answer normalising for one way of calling bk-job."""

    @property
    def name(self) -> str: ...

    def job_request(self, bk_biz_id: int, job_instance_id: int) -> ApiRequest: ...

    def step_request(
        self, bk_biz_id: int, job_instance_id: int, step_instance_id: int
    ) -> ApiRequest: ...

    def normalise_job(self, data: Any) -> Any: ...

    def normalise_step(self, data: Any, step_instance_id: int) -> Any: ...

    def list_request(
        self, bk_biz_id: int, window_ms: tuple[int, int], start: int, length: int
    ) -> ApiRequest: ...

    def log_request(self, ids: tuple[int, int, int], hosts: Sequence[LogHost]) -> ApiRequest: ...


def scope(bk_biz_id: int) -> dict[str, Any]:
    """The Job 3.x scope pair (API reference 1.3); it wins over a ``bk_biz_id``."""
    return {"bk_scope_type": "biz", "bk_scope_id": str(bk_biz_id)}


def list_params(
    bk_biz_id: int, window_ms: tuple[int, int], start: int, length: int
) -> dict[str, Any]:
    """get_job_instance_list: a create-time window (inclusive, epoch ms) and one page."""
    return {
        **scope(bk_biz_id),
        "create_time_start": window_ms[0],
        "create_time_end": window_ms[1],
        "start": start,
        "length": length,
    }


def log_params(ids: tuple[int, int, int], hosts: Sequence[LogHost]) -> dict[str, Any]:
    """batch_get_job_instance_ip_log: hosts by ID when all have one, else by cloud + IP."""
    if len(hosts) > MAX_LOG_HOSTS:
        raise ValueError(f"at most {MAX_LOG_HOSTS} hosts a call")
    params: dict[str, Any] = {
        **scope(ids[0]),
        "job_instance_id": ids[1],
        "step_instance_id": ids[2],
    }
    if all(h.bk_host_id is not None for h in hosts):
        params["host_id_list"] = [h.bk_host_id for h in hosts]
    else:
        params["ip_list"] = [{"bk_cloud_id": h.bk_cloud_id, "ip": h.ip} for h in hosts]
    return params
