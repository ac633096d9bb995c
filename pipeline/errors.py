"""The exceptions of bkjob-export, grouped by what the caller should do.

    BkJobExportError
    ├── UsageError          bad input or configuration: exit 2, nothing fetched
    │   └── IdFileError     an ID file that cannot be read (names file and line)
    ├── OutputError         the output folder cannot be written or read safely
    ├── Interrupted         Ctrl-C: what was fetched is kept for --resume (exit 130)
    └── ApiError            an API answer that is not data (carries kind, status, code)
        ├── FatalApiError       will not get better by asking again
        │   └── AuthError       credentials rejected / no permission: stops the run (exit 4)
        └── RetriableApiError   worth another attempt (timeouts, 5xx, rate limits, bad JSON)

``ApiError.kind`` is one of the ``fetch_errors.error_kind`` values.
Messages never contain a secret: they name the API path, never a full URL with a query.
"""

from __future__ import annotations

from typing import Any, Literal

ErrorKind = Literal[
    "auth", "not_found", "api_error", "http", "timeout", "connection", "invalid_response"
]


class BkJobExportError(Exception):
    """Base of every error this package raises on purpose."""


class UsageError(BkJobExportError):
    """Bad usage or input; the CLI prints the message and exits 2."""


class IdFileError(UsageError):
    def __init__(self, source: str, line: int, problem: str) -> None:
        super().__init__(f"{source}, line {line}: {problem}")
        self.source = source
        self.line = line


class OutputError(BkJobExportError):
    """The output folder is unusable (read-only, locked, corrupt files, disk full)."""


class Interrupted(BkJobExportError):
    """Ctrl-C during a run; staged data is kept for ``--resume``."""


class ApiError(BkJobExportError):
    def __init__(
        self,
        kind: ErrorKind,
        message: str,
        *,
        http_status: int | None = None,
        api_code: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.kind: ErrorKind = kind
        self.message = message
        self.http_status = http_status
        self.api_code = api_code
        self.retry_after = retry_after
        self.attempts = 1

    @property
    def rate_limited(self) -> bool:
        return self.http_status == 429 or self.api_code in RATE_LIMIT_CODES


class FatalApiError(ApiError):
    """Asking again will not help: not found, bad parameters, unsupported step."""


class AuthError(FatalApiError):
    """The credentials or the app's permissions were rejected."""

    def __init__(self, *args: Any, credentials: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: True when the app or user itself was rejected (no call can succeed),
        #: False for a missing permission on one business or resource
        self.credentials = credentials


class RetriableApiError(ApiError):
    """A transient failure: timeout, connection, 5xx, rate limit, truncated body."""


#: ESB 1306429 and API gateway 1642901..1642904 mean "slow down".
RATE_LIMIT_CODES = frozenset({1306429, 1642901, 1642902, 1642903, 1642904})
