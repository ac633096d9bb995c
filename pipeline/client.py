"""The bk-job HTTP client: one pooled session, auth per the ESB rules, one classifier.

One call is one attempt; retrying is the caller's job (pipeline.retry). Every answer goes
through :func:`classify`, which returns the payload or raises an :class:`ApiError` subclass.
Messages name the API, never the URL (it may carry credentials) and never a secret.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import orjson
import requests

from pipeline.config import Secret
from pipeline.errors import (
    ApiError,
    AuthError,
    FatalApiError,
    RetriableApiError,
)
from pipeline.flavours import ApiRequest, EsbV2, Flavour
from pipeline.flavours.base import ESB_V2_PREFIX
from pipeline.transport import FastSession

USER_AGENT: Final = "bkjob-export"

#: codes that mean the credentials (app or user) were rejected, or the gateway refuses the
#: app, its IP, user or tenant outright (16403xx): no call can succeed
CREDENTIAL_CODES: Final = frozenset(
    {1306401, 1306402, 1306403, 1247001, 1640100, 1640101, 1640102, 1640004}
    | {1640301, 1640302, 1640303, 1640304}
)
#: codes that mean no permission on this business / resource (IAM grants per business)
PERMISSION_CODES: Final = frozenset({9900403, 1238001})
NOT_FOUND_CODES: Final = frozenset({1244006, 1244007, 1243049, 1243051})
RETRIABLE_CODES: Final = frozenset(
    {1240001, 1240002, 1306201, 1306429, 1642901, 1642902, 1642903, 1642904}
    | {1650000, 1650001, 1650200, 1650201, 1650300, 1650401}
)


@dataclass(frozen=True)
class Credentials:
    app_code: str
    app_secret: Secret
    username: str | None = None
    token: Secret | None = None

    def header(self) -> str:
        """The ``X-Bkapi-Authorization`` header value (ESB and the gateway both read it)."""
        auth: dict[str, str] = {
            "bk_app_code": self.app_code,
            "bk_app_secret": self.app_secret.reveal(),
        }
        if self.token is not None:
            auth["bk_token"] = self.token.reveal()
        if self.username:
            auth["bk_username"] = self.username
        return json.dumps(auth)

    def secrets(self) -> list[str]:
        return [s.reveal() for s in (self.app_secret, self.token) if s is not None]


def redact(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text


def _header_float(headers: Mapping[str, str], name: str) -> float | None:
    try:
        return float(headers[name])
    except (KeyError, ValueError):
        return None


#: ESB 2.14 sends its app/user verification failures as the generic 1306000
_ESB_CREDENTIAL_WORDS: Final = ("app code", "app secret", "bk_token", "bk_username", "登录")


def rejects_credentials(code: int | None, message: str) -> bool:
    if code in CREDENTIAL_CODES:
        return True
    lowered = message.lower()
    return code in (1306000, 1306406) and any(w in lowered for w in _ESB_CREDENTIAL_WORDS)


def _error_for_code(api: str, code: int, message: str, http_status: int) -> ApiError:
    text = f"{api}: code {code}: {message}".rstrip(": ")
    if rejects_credentials(code, message):
        return AuthError("auth", text, http_status=http_status, api_code=code, credentials=True)
    if code in PERMISSION_CODES:
        return AuthError("auth", text, http_status=http_status, api_code=code)
    if code in NOT_FOUND_CODES:
        return FatalApiError("not_found", text, http_status=http_status, api_code=code)
    if code in RETRIABLE_CODES:
        return RetriableApiError("api_error", text, http_status=http_status, api_code=code)
    return FatalApiError("api_error", text, http_status=http_status, api_code=code)


def _error_for_status(api: str, status: int, code: int | None, message: str) -> ApiError:
    text = f"{api}: HTTP {status}" + (f" code {code}" if code else "") + f": {message}"
    text = text.rstrip(": ")
    if status in (401, 403):
        rejected = status == 401 or rejects_credentials(code, message)
        return AuthError("auth", text, http_status=status, api_code=code, credentials=rejected)
    if status == 429 or status >= 500:
        return RetriableApiError("http", text, http_status=status, api_code=code)
    return FatalApiError("http", text, http_status=status, api_code=code)


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def classify(api: str, status: int, headers: Mapping[str, str], body: bytes) -> Any:
    """Return ``data`` of a successful answer, or raise the ApiError that describes it.

    HTTP status first, then the envelope (``result``/``code``/``message``): ESB answers 200
    for its own errors, the API gateway uses real statuses plus ``X-Bkapi-Error-Code``.
    """
    try:
        envelope = orjson.loads(body)
    except orjson.JSONDecodeError:
        envelope = None
    gateway_code = _int_or_none(headers.get("X-Bkapi-Error-Code"))
    if not isinstance(envelope, dict):
        if status >= 400:
            err = _error_for_status(api, status, gateway_code, "not a JSON answer")
        else:
            err = RetriableApiError(
                "invalid_response", f"{api}: answer is not a JSON object", http_status=status
            )
        err.retry_after = _retry_after(headers)
        raise err
    code = _int_or_none(envelope.get("code"))
    code = gateway_code if code is None else code
    message = str(envelope.get("message") or "")[:500]
    if status >= 400:
        err = _error_for_status(api, status, code, message)
    elif envelope.get("result") is True or (code == 0 and envelope.get("result") is not False):
        if "data" not in envelope:
            raise RetriableApiError(
                "invalid_response", f"{api}: answer has no data", http_status=status
            )
        return envelope["data"]
    else:
        err = _error_for_code(api, code if code is not None else -1, message, status)
    err.retry_after = _retry_after(headers)
    raise err


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """Retry-After (seconds) or the gateway's X-Bkapi-RateLimit-Reset."""
    return _header_float(headers, "Retry-After") or _header_float(
        headers, "X-Bkapi-RateLimit-Reset"
    )


def _query(params: Mapping[str, Any]) -> dict[str, str]:
    """Query-string values as bk-job reads them: ``true``/``false``, numbers as text."""
    return {
        k: ("true" if v else "false") if isinstance(v, bool) else str(v)
        for k, v in params.items()
        if v is not None
    }


def new_session(pool_size: int, base_url: str = "") -> requests.Session:
    """requests' interface on one urllib3 pool (pipeline.transport: a third of the CPU)."""
    session = FastSession(pool_size, base_url)
    session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
    return session


class ApiClient:
    """Calls bk-job in one API flavour (``pipeline.flavours``); thread-safe for concurrent
    use of one session. ``step_status``/``job_status`` return normalised (v2-shaped) data."""

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        *,
        session: requests.Session | None = None,
        timeout: float = 30.0,
        pool_size: int = 8,
        flavour: Flavour | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.credentials = credentials
        self.session = session or new_session(pool_size, self.base_url)
        self.timeout = timeout
        self.flavour: Flavour = flavour or EsbV2()
        self._auth_header = credentials.header()

    def call(self, api: str, body: Mapping[str, Any]) -> Any:
        """POST one ESB v2 ``job`` API; return ``data`` or raise ApiError (one attempt)."""
        return self.send(ApiRequest(api, "POST", f"{ESB_V2_PREFIX}{api}/", body))

    def send(self, req: ApiRequest) -> Any:
        """One attempt of ``req``: ``data`` of the answer, or the ApiError it amounts to.
        Auth goes only in the ``X-Bkapi-Authorization`` header (ESB and gateway read it)."""
        api, url = req.api, f"{self.base_url}{req.path}"
        headers = {"X-Bkapi-Authorization": self._auth_header}
        try:
            if req.method == "GET":
                resp = self.session.get(url, params=_query(req.params), headers=headers,
                                        timeout=self.timeout)  # fmt: skip
            else:
                headers["Content-Type"] = "application/json"
                resp = self.session.post(url, data=orjson.dumps(req.params), headers=headers,
                                         timeout=self.timeout)  # fmt: skip
            content = resp.content
        except requests.Timeout:
            raise RetriableApiError(
                "timeout", f"{api}: no answer within {self.timeout:g} s"
            ) from None
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            raise RetriableApiError(
                "connection", f"{api}: connection failed ({type(exc).__name__})"
            ) from None
        except requests.RequestException as exc:
            raise RetriableApiError(
                "connection", f"{api}: request failed ({type(exc).__name__})"
            ) from None
        try:
            return classify(api, resp.status_code, resp.headers, content)
        except ApiError as err:
            err.message = redact(err.message, self.credentials.secrets())
            err.args = (err.message,)
            raise

    def step_status(self, bk_biz_id: int, job_instance_id: int, step_instance_id: int) -> Any:
        f = self.flavour
        data = self.send(f.step_request(bk_biz_id, job_instance_id, step_instance_id))
        return f.normalise_step(data, step_instance_id)

    def job_status(self, bk_biz_id: int, job_instance_id: int) -> Any:
        f = self.flavour
        return f.normalise_job(self.send(f.job_request(bk_biz_id, job_instance_id)))

    def close(self) -> None:
        self.session.close()
