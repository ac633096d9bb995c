"""One request in, one reply out: routing, faults, ESB auth and limits, the endpoint.

Kept apart from the HTTP plumbing in ``server.py`` so the order of checks reads in one
place: unknown path -> (attempt count, latency) -> transport faults -> auth -> ESB rate
limits -> bad body -> IAM permission (``deny_biz``) -> endpoint -> body faults.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

import orjson

from . import endpoints_v2, endpoints_v3, iplogs
from .auth import AUTH_KEYS, Credentials, authenticate, read_authorization
from .context import Call, Endpoint, EndpointContext
from .data import SimData
from .faults import AttemptCounter, FaultConfig, FaultKind, FixedWindowLimiter
from .params import BAD_REQUEST, ApiFailure, fail, no_permission, scope_biz
from .replies import LOGIN_PAGE, Reply, esb_error, gateway_5xx, gateway_429, json_reply
from .stats import SimStats
from .wire import error_body, language, ok_body

ESB_V2 = "/api/c/compapi/v2/job/"
ESB_JOBV3 = "/api/c/compapi/v2/jobv3/"
V2_ROUTES: dict[str, Endpoint] = {
    ESB_V2 + "get_step_instance_status/": endpoints_v2.get_step_instance_status,
    ESB_V2 + "get_job_instance_status/": endpoints_v2.get_job_instance_status,
}
JOBV3_ROUTES: dict[str, Endpoint] = {
    ESB_JOBV3 + "get_job_instance_status/": endpoints_v3.get_job_instance_status,
    ESB_JOBV3 + "get_job_instance_list/": endpoints_v3.get_job_instance_list,
    ESB_JOBV3 + "batch_get_job_instance_ip_log/": iplogs.batch_get_job_instance_ip_log,
}
NOT_FOUND = ApiFailure(1306404, "Not found, component class not found", origin="esb")
COMPONENT_ERROR = ApiFailure(
    1306000, "Component error, please contact the component developer to handle it.", "esb"
)
log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str
    query: str
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


def parse_params(req: Request) -> tuple[dict[str, Any], bool]:
    """(parameters, body_unreadable): query string, overlaid by a POST's JSON object."""
    params: dict[str, Any] = {
        k: v[-1] for k, v in parse_qs(req.query, keep_blank_values=True).items()
    }
    if req.method != "POST" or not req.body.strip():
        return params, False
    try:
        body = orjson.loads(req.body)
    except orjson.JSONDecodeError:
        return params, True
    if not isinstance(body, dict):
        return params, True
    params.update(body)
    return params, False


def request_identity(path: str, params: Mapping[str, Any], unreadable: bool, body: bytes) -> str:
    """What makes two requests "the same request" for attempt counting: never credentials."""
    if unreadable:
        return path + "|raw:" + hashlib.blake2b(body, digest_size=12).hexdigest()
    clean = {k: v for k, v in params.items() if k not in AUTH_KEYS}
    try:
        return path + "|" + orjson.dumps(clean, option=orjson.OPT_SORT_KEYS).decode()
    except orjson.JSONEncodeError:
        return path + "|" + repr(sorted(clean.items(), key=lambda kv: kv[0]))


class App:
    def __init__(
        self,
        data: SimData,
        creds: Credentials,
        faults: FaultConfig,
        stop: threading.Event,
        *,
        jobv3: bool,
        clock: Callable[[], float],
        deny_biz: frozenset[int] = frozenset(),
        finish_after_polls: int | None = None,
        gateway_stage: str | None = None,
    ) -> None:
        self.data = data
        #: the API gateway v3 stage served under /api/bk-job/ (None: no gateway)
        self.gateway_stage = gateway_stage
        self.ctx = EndpointContext(data, finish_after_polls=finish_after_polls)
        #: businesses where the user lacks IAM view_history: every call answers 9900403
        self.deny_biz = deny_biz
        self.creds = creds
        self.faults = faults
        self.stop = stop
        self.stats = SimStats()
        self.attempts = AttemptCounter()
        self.limiter = FixedWindowLimiter(faults.rps_limit, clock) if faults.rps_limit else None
        self.routes = dict(V2_ROUTES) | (dict(JOBV3_ROUTES) if jobv3 else {})
        self._hanging = 0
        self._hang_cond = threading.Condition()

    def handle(self, req: Request) -> Reply:
        if self.gateway_stage is not None and req.path.startswith("/api/bk-job/"):
            from .gateway import handle_gateway  # the gateway flavour (gateway.py)

            return handle_gateway(self, req, self.gateway_stage)
        path = req.path if req.path.endswith("/") else req.path + "/"
        endpoint = self.routes.get(path)
        if endpoint is None or req.method not in ("GET", "POST"):
            self.stats.record(path, "error:1306404")
            return json_reply(error_body(NOT_FOUND, self.data.job3))
        params, unreadable = parse_params(req)
        identity = request_identity(path, params, unreadable, req.body)
        attempt = self.attempts.next(identity)
        if self.faults.latency_ms > 0 and self.stop.wait(self.faults.latency_ms / 1000):
            return Reply(reset=True)  # shutting down
        fault = self.faults.decide(identity, attempt)
        reply = self._transport_fault(fault, path, identity, attempt)
        if reply is not None:
            self.stats.record(path, f"fault:{fault}")
            return reply
        reply, outcome = self._answer(endpoint, req, params, unreadable, fault)
        if fault in ("truncated_json", "non_json"):
            outcome = f"fault:{fault}"
            reply = LOGIN_PAGE if fault == "non_json" else reply.truncated()
        self.stats.record(path, outcome)
        return reply

    def _transport_fault(
        self, fault: FaultKind | None, path: str, identity: str, attempt: int
    ) -> Reply | None:
        if fault == "reset":
            return Reply(reset=True)
        if fault == "timeout":
            if self._hang():
                return Reply(reset=True)
            api = path.rstrip("/").rsplit("/", 1)[-1]
            return esb_error(
                1306201,
                f"Component request third-party system [JOB] interface [{api}] error: "
                "Request third-party system interface timeout, please try again later or "
                "contact component developer to handle this",
                self.data.job3,
            )
        if fault == "error_5xx":
            return gateway_5xx(self.faults.status_5xx(identity, attempt))
        if fault == "gateway_429":
            limit = int(self.faults.rps_limit or 100)
            return gateway_429(limit, self.faults.gateway_reset_s)
        return None

    def _hang(self) -> bool:
        """Hold a "timeout" request for hang_s; True when woken by shutdown."""
        with self._hang_cond:
            self._hanging += 1
            self._hang_cond.notify_all()
        try:
            return self.stop.wait(self.faults.hang_s)
        finally:
            with self._hang_cond:
                self._hanging -= 1

    def wait_hanging(self, n: int, timeout: float) -> bool:
        """Block until ``n`` requests hang in a timeout fault (lets tests sync without sleeps)."""
        with self._hang_cond:
            return self._hang_cond.wait_for(lambda: self._hanging >= n, timeout)

    def _answer(
        self,
        endpoint: Endpoint,
        req: Request,
        params: dict[str, Any],
        unreadable: bool,
        fault: FaultKind | None,
    ) -> tuple[Reply, str]:
        job3 = self.data.job3
        outcome = ""
        try:
            auth = read_authorization(req.headers.get("x-bkapi-authorization"), params)
            authenticate(auth, self.creds)
            if fault == "esb_rate_limit":
                outcome = "fault:esb_rate_limit"
                raise self._rate_limited(auth, req.path)
            if self.limiter is not None and not self.limiter.admit():
                outcome = "rps_limited"
                raise self._rate_limited(auth, req.path)
            if unreadable:
                raise fail(BAD_REQUEST)
            biz = scope_biz(params) if self.deny_biz else None
            if biz is not None and biz in self.deny_biz:
                raise no_permission(biz)
            lang = language(
                req.headers.get("blueking-language") or req.headers.get("accept-language")
            )
            data_json = endpoint(self.ctx, Call(params, lang))
            return json_reply(ok_body(data_json, job3)), "ok"
        except ApiFailure as failure:
            return json_reply(error_body(failure, job3)), outcome or f"error:{failure.code}"
        except Exception:  # a simulator bug: answer as ESB does for a broken component
            log.exception("simulator endpoint %s failed", req.path)
            return json_reply(error_body(COMPONENT_ERROR, job3)), "error:1306000"

    def _rate_limited(self, auth: Mapping[str, Any], path: str) -> ApiFailure:
        app = auth.get("bk_app_code") or auth.get("app_code") or ""
        limit = f"{int(self.faults.rps_limit)}/1s" if self.faults.rps_limit else "100/1s"
        return ApiFailure(
            1306429,
            f"Access frequency limit, the app [bk_app_code={app}] access frequency of the "
            f"component [{path}] exceeds the limit [{limit}]",
            origin="esb",
        )
