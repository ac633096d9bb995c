"""Reply objects and the canned non-bk-job answers (gateway errors, a proxy's login page)."""

from __future__ import annotations

from dataclasses import dataclass

from .params import ApiFailure
from .wire import error_body, gateway_error_body, new_request_id

JSON = "application/json; charset=utf-8"


@dataclass(frozen=True, slots=True)
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str = JSON
    headers: tuple[tuple[str, str], ...] = ()
    #: close the connection with a TCP reset instead of answering
    reset: bool = False

    def truncated(self) -> Reply:
        """The same answer cut in half; Content-Length will be the cut length."""
        return Reply(self.status, self.body[: len(self.body) // 2], self.content_type, self.headers)


def json_reply(body: bytes) -> Reply:
    return Reply(body=body)


def esb_error(code: int, message: str, job3: bool) -> Reply:
    return json_reply(error_body(ApiFailure(code, message, origin="esb"), job3))


def _gateway_headers(code: int, message: str) -> tuple[tuple[str, str], ...]:
    return (
        ("X-Bkapi-Request-Id", new_request_id()),
        ("X-Bkapi-Error-Code", str(code)),
        ("X-Bkapi-Error-Message", message),
    )


def gateway_5xx(status: int) -> Reply:
    if status == 502:
        code, name, message = 1650200, "BAD_GATEWAY", "Bad Gateway"
    else:
        code, name, message = 1650300, "SERVICE_UNAVAILABLE", "Service Unavailable"
    return Reply(
        status, gateway_error_body(code, name, message), headers=_gateway_headers(code, message)
    )


def gateway_429(limit: int, reset_s: int) -> Reply:
    message = "API rate limit exceeded by stage global limit"
    headers = _gateway_headers(1642901, message) + (
        ("X-Bkapi-RateLimit-Limit", str(limit)),
        ("X-Bkapi-RateLimit-Remaining", "0"),
        ("X-Bkapi-RateLimit-Reset", str(reset_s)),
        ("X-Bkapi-RateLimit-Plugin", "bk-rate-limit"),
    )
    body = gateway_error_body(1642901, "RATE_LIMIT_RESTRICTION", message)
    return Reply(429, body, headers=headers)


LOGIN_PAGE = Reply(
    200,
    (
        '<!DOCTYPE html><html><head><meta charset="utf-8"><title>蓝鲸智云 - 登录</title>'
        '</head><body><form action="/login/" method="post"><input name="username">'
        '<input name="password" type="password"></form></body></html>'
    ).encode(),
    "text/html; charset=utf-8",
)
