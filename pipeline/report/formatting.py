"""How the report writes numbers, rates, durations and times (Jinja filters)."""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

NA = "n/a"


def raw(value: object) -> str:
    """The machine-readable ``data-value``: a plain, unrounded number; ``""`` for none.

    ``repr`` of a float is the shortest text that reads back as the same float.
    """
    if value is None or isinstance(value, bool):
        return ""
    if isinstance(value, float):
        return "" if math.isnan(value) else repr(value)
    if isinstance(value, int):
        return str(value)
    return str(value)


def pct(value: float | None, digits: int = 1) -> str:
    """A fraction as a percentage (``0.0731`` -> ``7.3%``); ``n/a`` for none."""
    if value is None or math.isnan(value):
        return NA
    return f"{value * 100:.{digits}f}%"


def num(value: int | float | None) -> str:
    """A count with thousands separators (``12,345``); ``n/a`` for none."""
    if value is None:
        return NA
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.2f}"
    return f"{int(value):,}"


def secs(value: float | None) -> str:
    """A duration in seconds, readable: ``0.4 s``, ``12 s``, ``3 min 05 s``, ``2 h 01 min``."""
    if value is None or math.isnan(value):
        return NA
    if value < 10:
        return f"{value:.1f} s"
    total = round(value)
    if total < 60:
        return f"{total} s"
    hours, rest = divmod(total, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes:02d} min"
    return f"{minutes} min {seconds:02d} s"


def when(value: datetime | None, tz: str | None = None) -> str:
    """A timestamp to the second: in UTC ``2026-11-29 01:02:03Z``, or in the zone ``tz``
    with its offset ``2026-11-29 09:02:03 +08:00``; ``n/a`` for none."""
    if value is None:
        return NA
    if tz is not None:
        local = value.astimezone(ZoneInfo(tz))
        offset = local.strftime("%z")
        return f"{local:%Y-%m-%d %H:%M:%S} {offset[:3]}:{offset[3:]}"
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M:%SZ")


def change(value: float | None, kind: str) -> str:
    """A difference: ``+3`` / ``-1,204`` for counts, ``+1.2 pp`` for rates; ``n/a`` for none."""
    if value is None:
        return NA
    if kind == "rate":
        return f"{value * 100:+.1f} pp"
    return f"{int(value):+,}" if value else "0"


def shorten(text: str | None, limit: int = 60) -> str:
    """``text`` on one line, cut to ``limit`` characters with an ellipsis."""
    if text is None:
        return "(none)"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


FILTERS: dict[str, Callable[..., Any]] = {
    "raw": raw,
    "pct": pct,
    "num": num,
    "secs": secs,
    "when": when,
    "change": change,
    "shorten": shorten,
}
