"""``--api auto``: find out at run start, with one or two cheap calls, which flavour the
site answers. Nothing is cached on disk; every run probes again.

1. ESB ``jobv3/get_job_instance_list`` over the last hour: any answer made by bk-job
   (data, or a bk-job error such as 9900403) means jobv3 is there -> ``esb-v3``.
2. Else the API gateway's ``get_job_instance_list`` -> ``apigw``.
3. Else ``esb-v2`` (a Job 2.x-era ESB, or a probe that could not tell: rejected
   credentials, an unreachable URL; the run itself then reports what is wrong).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from pipeline.client import ApiClient
from pipeline.errors import ApiError
from pipeline.flavours import Apigw, EsbV3, Flavour, make_flavour
from pipeline.flavours.base import ApiRequest
from pipeline.logs import log

PROBE_WINDOW_MS: Final = 3_600_000
#: any code in these ranges was made by ESB or the gateway, not by bk-job
_LAYER_CODES: Final = (range(1306000, 1307000), range(1640000, 1660000))


@dataclass(frozen=True)
class Probe:
    """What one probe call found: ``answered`` when bk-job itself answered."""

    answered: bool
    data: Any = None
    error: ApiError | None = None


def made_by_bkjob(err: ApiError) -> bool:
    """An error answer that came from bk-job (so the API path exists and works)."""
    code = err.api_code
    if code is None or (err.http_status or 200) >= 400:
        return False
    return not any(code in r for r in _LAYER_CODES)


def probe(send: Callable[[ApiRequest], Any], req: ApiRequest) -> Probe:
    try:
        return Probe(True, data=send(req))
    except ApiError as err:
        return Probe(made_by_bkjob(err), error=err)


def list_probe_request(flavour: Flavour, bk_biz_id: int, now_ms: int | None = None) -> ApiRequest:
    """A cheap list call: one row of the last hour's jobs."""
    now_ms = now_ms if now_ms is not None else int(datetime.now(UTC).timestamp() * 1000)
    return flavour.list_request(bk_biz_id, (now_ms - PROBE_WINDOW_MS, now_ms), 0, 1)


def resolve_flavour(client: ApiClient, api: str, stage: str, bk_biz_id: int) -> Flavour:
    """The flavour named ``api``, or for ``auto`` the one the site answers."""
    if api != "auto":
        return make_flavour(api, stage)
    for flavour in (EsbV3(), Apigw(stage=stage)):
        found = probe(client.send, list_probe_request(flavour, bk_biz_id))
        if found.answered:
            log.info("--api auto: %s answers", flavour.name, extra={"event": "flavour"})
            return flavour
        why = found.error.message if found.error else "no answer"
        log.debug("--api auto: %s does not answer (%s)", flavour.name, why)
    log.info("--api auto: falling back to esb-v2", extra={"event": "flavour"})
    return make_flavour("esb-v2")
