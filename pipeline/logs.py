"""Logging for humans (text) or machines (one JSON object per line), with every known
secret masked on the way out as a last line of defence."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO, Any

LOGGER_NAME = "bkjob_export"
log = logging.getLogger(LOGGER_NAME)

_STANDARD_ATTRS = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


class RedactingFormatter(logging.Formatter):
    """Masks every known secret in the finished line: message, extra fields and
    tracebacks alike (a filter on the message alone would miss the last two)."""

    def __init__(self, inner: logging.Formatter, secrets: Iterable[str]) -> None:
        super().__init__()
        self.inner = inner
        # as written and as JSON escapes it; longest first, so no part of one is left over
        forms = {f for s in secrets if s for f in (s, json.dumps(s, ensure_ascii=False)[1:-1])}
        self.secrets = sorted(forms, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        text = self.inner.format(record)
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in record.__dict__.items() if k not in _STANDARD_ATTRS})
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(
    *, verbose: bool, quiet: bool, fmt: str, secrets: Iterable[str], stream: IO[str]
) -> None:
    """Replace this package's handlers (safe to call once per run, also in tests)."""
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    handler = logging.StreamHandler(stream)
    if fmt == "json":
        inner: logging.Formatter = JsonFormatter()
    else:
        inner = logging.Formatter("%(asctime)s %(levelname)s %(message)s")
    handler.setFormatter(RedactingFormatter(inner, secrets))
    for old in list(log.handlers):
        log.removeHandler(old)
    log.addHandler(handler)
    log.setLevel(level)
    log.propagate = False
