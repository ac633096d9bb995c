"""Request parameters as bk-job reads them, and the failures bk-job and ESB answer with.

Messages are the English i18n texts of bk-job (``message_en.properties``) and ESB
(``paas2/esb/common/errors.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

Origin = Literal["job", "esb"]


class ApiFailure(Exception):
    """An answer with ``result: false``; ``origin`` says which layer made it."""

    def __init__(
        self,
        code: int,
        message: str,
        origin: Origin = "job",
        permission: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.origin: Origin = origin
        #: the IAM ``permission`` object of a 9900403 answer
        self.permission = permission


def missing_or_invalid(name: str) -> ApiFailure:
    return ApiFailure(1241007, f"Missing or invalid request parameter [{name}]")


JOB_NOT_FOUND = (1244006, "Task instance does not exist")
STEP_NOT_FOUND = (1244007, "Task step instance does not exist")
UNSUPPORTED = (1241003, "Unsupported operation")
BAD_REQUEST = (1240003, "Bad Request")
INVALID_PARAMS = (1241002, "Invalid request parameters")


def fail(pair: tuple[int, str]) -> ApiFailure:
    return ApiFailure(pair[0], pair[1])


def no_permission(bk_biz_id: int) -> ApiFailure:
    """bk-job's 9900403: the user lacks IAM ``view_history`` on the business."""
    biz = str(bk_biz_id)
    instance = [{"type": "biz", "id": biz, "name": f"biz-{biz}"}]
    resource = {"system_id": "bk_cmdb", "system_name": "CMDB", "type": "biz",
                "type_name": "Business", "instances": [instance]}  # fmt: skip
    permission = {
        "system_id": "bk_job",
        "system_name": "Job",
        "actions": [
            {"id": "view_history", "name": "View history", "related_resource_types": [resource]}
        ],
    }
    return ApiFailure(9900403, "User has no permission", permission=permission)


def scope_biz(params: Mapping[str, Any]) -> int | None:
    """The business a call is about, or None when its scope is unreadable."""
    try:
        return require_scope(params)
    except ApiFailure:
        return None


def as_long(value: Any) -> int | None:
    """A JSON long as Jackson would take it: int, integral float or digit string."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def as_bool(value: Any, default: bool = False) -> bool:
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    return bool(value)


def lookup(params: Mapping[str, Any], name: str, nested: bool) -> Any:
    """Top-level value, else (when ``nested``: the Job 2.x docs' form) inside ``params``."""
    if params.get(name) is not None:
        return params[name]
    inner = params.get("params")
    if nested and isinstance(inner, Mapping):
        return inner.get(name)
    return None


def require_id(params: Mapping[str, Any], name: str, nested: bool) -> int:
    """A positive long, else 1241007 naming the field."""
    value = as_long(lookup(params, name, nested))
    if value is None or value < 1:
        raise missing_or_invalid(name)
    return value


def require_scope(params: Mapping[str, Any]) -> int:
    """The business ID from ``bk_scope_type``+``bk_scope_id`` (preferred) or ``bk_biz_id``.

    A business set or an unknown scope type finds no job here: bk-job would look in a
    scope that holds none of the simulator's jobs.
    """
    scope_type = params.get("bk_scope_type")
    scope_id = params.get("bk_scope_id")
    if scope_type is not None or scope_id is not None:
        biz = as_long(scope_id)
        if scope_type is None or biz is None:
            raise missing_or_invalid("bk_scope_id" if scope_type else "bk_scope_type")
        if scope_type != "biz":
            raise fail(JOB_NOT_FOUND)
        return biz
    biz = as_long(params.get("bk_biz_id"))
    if biz is None:
        raise missing_or_invalid("bk_biz_id")
    if 8_000_000 <= biz <= 9_999_999:  # IDs in this range name a business set (3.x)
        raise fail(JOB_NOT_FOUND)
    return biz
