"""Shared formatting of the wire answers: times, texts, envelopes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import orjson

from pipeline.codes import HOST_RESULT_NAMES

from .catalog import HOST_RESULT_NAMES_ZH
from .params import ApiFailure
from .plans import SHANGHAI


def v2_time(dt: datetime | None) -> str | None:
    """'YYYY-MM-DD HH:mm:ss' in Asia/Shanghai, bk-job's default zone for v2 strings."""
    return None if dt is None else dt.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")


def epoch_ms(dt: datetime | None) -> int | None:
    return None if dt is None else round(dt.timestamp() * 1000)


def seconds(ms: int | None) -> float | None:
    return None if ms is None else ms / 1000


def result_text(code: int, lang: str) -> str:
    if lang == "zh":
        return HOST_RESULT_NAMES_ZH.get(code, "未知")
    return HOST_RESULT_NAMES.get(code, "Unknown")


def language(header: str | None) -> str:
    """'zh' or 'en' from Blueking-Language / Accept-Language; English by default."""
    return "zh" if header and header.strip().lower().startswith("zh") else "en"


def put_optional(d: dict[str, Any], key: str, value: Any, keep_null: bool) -> None:
    """Job 3.x keeps nulls inside data (bk-job issue #94); the 2.x form leaves them out."""
    if value is not None or keep_null:
        d[key] = value


def new_request_id() -> str:
    return uuid.uuid4().hex


def ok_body(data_json: bytes, job3: bool) -> bytes:
    """Splice pre-encoded ``data`` into a fresh envelope (a new request_id each time)."""
    # bk-job 3.x sends no message on success and ESB fills in ""; the 2.x docs show "OK"
    message = b'""' if job3 else b'"OK"'
    tail = b',"request_id":"' + new_request_id().encode() + b'"'
    if job3:
        tail += b',"job_request_id":"' + new_request_id()[:16].encode() + b'"'
    return b'{"result":true,"code":0,"message":' + message + b',"data":' + data_json + tail + b"}"


def error_body(failure: ApiFailure, job3: bool) -> bytes:
    body: dict[str, Any] = {
        "result": False,
        "code": failure.code,
        "message": failure.message,
        "data": None,
        "request_id": new_request_id(),
    }
    if job3 and failure.origin == "job":
        body["job_request_id"] = new_request_id()[:16]
    if failure.permission is not None:
        body["permission"] = failure.permission
    return orjson.dumps(body)


def gateway_error_body(code: int, code_name: str, message: str) -> bytes:
    """An API-gateway-made error (``bk-core/errorx.lua``)."""
    return orjson.dumps(
        {"code": code, "code_name": code_name, "message": message, "result": False, "data": None}
    )
