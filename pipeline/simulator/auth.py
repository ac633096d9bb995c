"""ESB app and user authentication, as ``paas2/esb/esb/channel/base.py`` and
``esb/bkauth/validators.py`` do it: the ``X-Bkapi-Authorization`` header (JSON) first,
else the request's own parameters.

Codes: a missing app field -> 1306406 ARGUMENT_ERROR; no user -> 1306401
OPERATOR_REQUIRED; a wrong app_code / app_secret -> 1306000 with ESB's own
verification message. Real ESB 2.14 sends every validator failure as 1306000
(``CommonAPIError``) with these messages, so a client must read the message of a
1306000 too; the simulator uses the named codes where the 1306xxx table has one.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from .params import ApiFailure

AUTH_KEYS = frozenset(
    {
        "bk_app_code",
        "bk_app_secret",
        "app_code",
        "app_secret",
        "bk_token",
        "bk_username",
        "username",
    }
)


@dataclass(frozen=True, slots=True)
class Credentials:
    """What the server insists on; ``None`` accepts any non-empty value."""

    app_code: str | None = None
    app_secret: str | None = None


def _esb(code: int, message: str) -> ApiFailure:
    return ApiFailure(code, message, origin="esb")


def read_authorization(header: str | None, params: Mapping[str, Any]) -> Mapping[str, Any]:
    if header is None:
        return {k: v for k, v in params.items() if k in AUTH_KEYS}
    try:
        value = orjson.loads(header)
    except orjson.JSONDecodeError:
        value = None
    if not isinstance(value, dict):
        raise _esb(
            1306406,
            "Parameters error, request header X-Bkapi-Authorization is not a valid JSON "
            "format string",
        )
    return value


def _first(auth: Mapping[str, Any], *keys: str) -> str:
    for key in keys:
        value = auth.get(key)
        if value not in (None, ""):
            return str(value)
    return ""


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


def authenticate(auth: Mapping[str, Any], creds: Credentials) -> str:
    """The user name the call runs as, or an ESB failure. Messages never echo a secret."""
    app_code = _first(auth, "bk_app_code", "app_code")
    app_secret = _first(auth, "bk_app_secret", "app_secret")
    if not app_code:
        raise _esb(1306406, "Parameters error, APP Code [bk_app_code] cannot be empty")
    if not app_secret:
        raise _esb(1306406, "Parameters error, APP Secret [bk_app_secret] cannot be empty")
    if creds.app_code is not None and not _same(app_code, creds.app_code):
        raise _esb(
            1306000,
            f"Invalid APP Code [bk_app_code={app_code}], please confirm if the APP Code "
            "has been registered",
        )
    if creds.app_secret is not None and not _same(app_secret, creds.app_secret):
        # sic: ESB's message carries this typo; clients may match on it
        raise _esb(
            1306000,
            "APP Secret verification failed, pelase confirm if the APP Secret and APP Code "
            f"[bk_app_code={app_code}] match",
        )
    user = _first(auth, "bk_token", "bk_username", "username")
    if not user:
        raise _esb(
            1306401,
            "You must specify the current operator, please provide a valid user identity, "
            "such as bk_token, bk_username",
        )
    return user
