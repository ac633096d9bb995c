from __future__ import annotations

import json
from typing import Any

import pytest

from pipeline.client import Credentials, classify, redact
from pipeline.config import Secret
from pipeline.errors import ApiError, AuthError, FatalApiError, RetriableApiError


def body(**kw: Any) -> bytes:
    return json.dumps(kw).encode()


def test_success_returns_data() -> None:
    assert classify("x", 200, {}, body(result=True, code=0, message="OK", data={"a": 1})) == {
        "a": 1
    }
    # bk-job itself drops `message` on success; ESB fills defaults
    assert classify("x", 200, {}, body(code=0, data=[])) == []


@pytest.mark.parametrize(
    ("status", "headers", "payload", "cls", "kind"),
    [
        (200, {}, body(result=False, code=1244007, message="no step"), FatalApiError, "not_found"),
        (200, {}, body(result=False, code=1244006, message="no job"), FatalApiError, "not_found"),
        (200, {}, body(result=False, code=9900403, message="perm"), AuthError, "auth"),
        (200, {}, body(result=False, code=1306401, message="user"), AuthError, "auth"),
        (200, {}, body(result=False, code=1306429, message="slow"), RetriableApiError, "api_error"),
        (200, {}, body(result=False, code=1240002, message="ise"), RetriableApiError, "api_error"),
        (200, {}, body(result=False, code=1241007, message="p"), FatalApiError, "api_error"),
        (200, {}, body(result=False, code=1241003, message="u"), FatalApiError, "api_error"),
        (200, {}, b'{"result": true, "da', RetriableApiError, "invalid_response"),
        (200, {}, b"<html>oops</html>", RetriableApiError, "invalid_response"),
        (200, {}, b"[1, 2]", RetriableApiError, "invalid_response"),
        (200, {}, body(result=True, code=0), RetriableApiError, "invalid_response"),
        (502, {}, b"Bad Gateway", RetriableApiError, "http"),
        (503, {}, body(code=1650300, result=False), RetriableApiError, "http"),
        (429, {"X-Bkapi-Error-Code": "1642901"}, body(code=1642901), RetriableApiError, "http"),
        (401, {}, body(code=1640101, message="app"), AuthError, "auth"),
        (403, {}, body(code=1640301, message="no"), AuthError, "auth"),
        (404, {}, body(code=1640401, message="api"), FatalApiError, "http"),
        (400, {}, b"", FatalApiError, "http"),
    ],
)
def test_classification(
    status: int, headers: dict[str, str], payload: bytes, cls: type[ApiError], kind: str
) -> None:
    with pytest.raises(cls) as info:
        classify("get_step_instance_status", status, headers, payload)
    err = info.value
    assert type(err) is cls
    assert err.kind == kind
    assert err.http_status == status
    assert "get_step_instance_status" in err.message


def test_codes_and_retry_hints() -> None:
    headers = {"X-Bkapi-Error-Code": "1642903", "X-Bkapi-RateLimit-Reset": "7"}
    with pytest.raises(RetriableApiError) as info:
        classify("a", 429, headers, b"not json")
    assert info.value.api_code == 1642903
    assert info.value.retry_after == 7.0
    assert info.value.rate_limited
    with pytest.raises(RetriableApiError) as info:
        classify("a", 200, {}, body(result=False, code=1306429))
    assert info.value.rate_limited and info.value.retry_after is None
    with pytest.raises(RetriableApiError) as info:
        classify("a", 503, {"Retry-After": "3"}, b"")
    assert info.value.retry_after == 3.0


def test_gateway_error_rewritten_to_200_is_still_an_error() -> None:
    with pytest.raises(AuthError):
        classify("a", 200, {"X-Bkapi-Error-Code": "1640101"}, body(result=False, message="x"))


def test_credentials_header_and_redaction() -> None:
    creds = Credentials("app", Secret("s3cr3t"), username="admin", token=Secret("tok"))
    header = json.loads(creds.header())
    assert header == {
        "bk_app_code": "app",
        "bk_app_secret": "s3cr3t",
        "bk_token": "tok",
        "bk_username": "admin",
    }
    assert "s3cr3t" not in repr(creds)
    assert redact("echo s3cr3t and tok", creds.secrets()) == "echo *** and ***"


@pytest.mark.parametrize(
    ("code", "message", "credentials"),
    [
        (1306000, "Invalid APP Code [bk_app_code=x], please confirm", True),
        (1306000, "APP Secret verification failed, pelase confirm", True),
        (1306401, "no current user", True),
        (1306406, "Parameters error, APP Code [bk_app_code] cannot be empty", True),
        (9900403, "no permission on business 3", False),
    ],
)
def test_rejected_credentials_are_told_from_missing_permissions(
    code: int, message: str, credentials: bool
) -> None:
    with pytest.raises(AuthError) as info:
        classify("a", 200, {}, body(result=False, code=code, message=message))
    assert info.value.credentials is credentials


def test_generic_esb_error_is_not_auth_and_not_retried() -> None:
    with pytest.raises(FatalApiError) as info:
        classify("a", 200, {}, body(result=False, code=1306000, message="component error"))
    assert type(info.value) is FatalApiError
