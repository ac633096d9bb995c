"""The bk-job API gateway v3 in front of the same data: ``/api/bk-job/{stage}/api/v3/<api>``.

What differs from ESB (API reference 1.2, 2, 7.3): auth is read **only** from the
``X-Bkapi-Authorization`` header (``allow_auth_from_params: false``); gateway-made errors
use real HTTP statuses with ``{code, code_name, message, result, data}`` bodies and
``X-Bkapi-Error-Code``/``-Message`` headers (401 app/user verification, 403 for the
non-public ``/api/v3/system/...`` twins, 404 for an unknown stage, resource or method,
429 for rate limits, 504 for a backend timeout); bk-job's own answers pass unchanged
(HTTP 200, no ESB ``request_id``; ``X-Bkapi-Request-Id`` on every response).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import orjson

from . import endpoints_gw, endpoints_v3, iplogs
from .auth import authenticate, read_authorization
from .context import Call, Endpoint
from .params import BAD_REQUEST, ApiFailure, fail, no_permission, scope_biz
from .replies import LOGIN_PAGE, Reply
from .wire import gateway_error_body, language, new_request_id

if TYPE_CHECKING:
    from .app import App, Request

GATEWAY_PREFIX: Final = "/api/bk-job/"
DEFAULT_STAGE: Final = "prod"
#: resource -> (method, endpoint), as bk-job's resources.yaml declares them
RESOURCES: Final[dict[str, tuple[str, Endpoint]]] = {
    "get_job_instance_status": ("GET", endpoints_v3.get_job_instance_status),
    "get_job_instance_list": ("GET", endpoints_v3.get_job_instance_list),
    "get_step_instance_status": ("GET", endpoints_gw.get_step_instance_status),
    "batch_get_job_instance_ip_log": ("POST", iplogs.batch_get_job_instance_ip_log),
}
_ERRORS: Final[dict[int, tuple[int, str]]] = {
    1640101: (401, "APP_VERIFY_FAILED"),
    1640102: (401, "USER_VERIFY_FAILED"),
    1640301: (403, "APP_NO_PERMISSION"),
    1640401: (404, "API_NOT_FOUND"),
    1642901: (429, "RATE_LIMIT_RESTRICTION"),
    1650401: (504, "BACKEND_TIMEOUT"),
}


def gateway_error(code: int, message: str) -> Reply:
    status, name = _ERRORS[code]
    headers = (
        ("X-Bkapi-Request-Id", new_request_id()),
        ("X-Bkapi-Error-Code", str(code)),
        ("X-Bkapi-Error-Message", message),
    )
    return Reply(status, gateway_error_body(code, name, message), headers=headers)


def _job_reply(body: dict[str, Any]) -> Reply:
    """bk-job's own answer, passed through unchanged (null fields omitted, no request_id)."""
    body["job_request_id"] = new_request_id()[:16]
    return Reply(200, orjson.dumps(body), headers=(("X-Bkapi-Request-Id", new_request_id()),))


def resource_of(path: str, stage: str) -> tuple[str | None, Reply | None]:
    """The resource name a gateway path asks for, or the gateway's error reply."""
    parts = path.strip("/").split("/")  # api, bk-job, stage, api, v3, [system,] name
    if len(parts) == 7 and parts[5] == "system":
        return None, gateway_error(1640301, "App has no permission to the resource")
    if len(parts) != 6 or parts[2] != stage or parts[3:5] != ["api", "v3"]:
        return None, gateway_error(1640401, "API not found")
    return parts[5], None


def handle_gateway(app: App, req: Request, stage: str) -> Reply:
    """One gateway request: routing, faults, header auth, permission, the endpoint."""
    from .app import parse_params, request_identity

    name, error = resource_of(req.path, stage)
    resource = RESOURCES.get(name or "")
    if error is None and (resource is None or resource[0] != req.method):
        error = gateway_error(1640401, "API not found")
    if error is not None or resource is None:
        app.stats.record(req.path, "error:gateway")
        return error or gateway_error(1640401, "API not found")
    params, unreadable = parse_params(req)
    identity = request_identity(req.path, params, unreadable, req.body)
    attempt = app.attempts.next(identity)
    if app.faults.latency_ms > 0 and app.stop.wait(app.faults.latency_ms / 1000):
        return Reply(reset=True)
    fault = app.faults.decide(identity, attempt)
    reply = _fault_reply(app, fault, identity, attempt)
    if reply is not None:
        app.stats.record(req.path, f"fault:{fault}")
        return reply
    reply, outcome = _answer(app, resource[1], req, params, unreadable)
    if fault in ("truncated_json", "non_json"):
        outcome = f"fault:{fault}"
        reply = LOGIN_PAGE if fault == "non_json" else reply.truncated()
    app.stats.record(req.path, outcome)
    return reply


def _fault_reply(app: App, fault: Any, identity: str, attempt: int) -> Reply | None:
    if fault == "timeout":
        return Reply(reset=True) if app._hang() else gateway_error(1650401, "Backend timeout")
    if fault == "esb_rate_limit":
        return _rate_limited()
    return app._transport_fault(fault, "", identity, attempt)


def _rate_limited() -> Reply:
    return gateway_error(1642901, "API rate limit exceeded by stage global limit")


def _answer(
    app: App, endpoint: Endpoint, req: Request, params: dict[str, Any], unreadable: bool
) -> tuple[Reply, str]:
    try:
        auth = read_authorization(req.headers.get("x-bkapi-authorization"), {})
        authenticate(auth, app.creds)
    except ApiFailure as failure:
        code = 1640102 if failure.code == 1306401 else 1640101
        return gateway_error(code, failure.message), f"error:{code}"
    if app.limiter is not None and not app.limiter.admit():
        return _rate_limited(), "rps_limited"
    try:
        if unreadable:
            raise fail(BAD_REQUEST)
        biz = scope_biz(params)
        if biz is not None and biz in app.deny_biz:
            raise no_permission(biz)
        lang = language(req.headers.get("blueking-language") or req.headers.get("accept-language"))
        data_json = endpoint(app.ctx, Call(params, lang))
        tail = b',"job_request_id":"' + new_request_id()[:16].encode() + b'"}'
        ok = Reply(200, b'{"result":true,"code":0,"data":' + data_json + tail,
                   headers=(("X-Bkapi-Request-Id", new_request_id()),))  # fmt: skip
        return ok, "ok"
    except ApiFailure as failure:
        body = {"result": False, "code": failure.code, "message": failure.message}
        if failure.permission is not None:
            body["permission"] = failure.permission
        return _job_reply(body), f"error:{failure.code}"
