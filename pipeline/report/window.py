"""The incident view's window: ``--since`` / ``--until`` / ``--biz`` / ``--job`` checked and
turned into ``sql/window.sql``.

A time is ISO-8601 (``2026-11-29 09:00``, ``2026-11-29T01:00:00Z``); without an offset it is
in the API time zone. A span (``6h``, ``2d``, ``30m``, ``1w``) means that long before now.
Bad input raises :class:`~pipeline.errors.UsageError` with one line naming the option.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from string import Template
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pipeline.config import DEFAULT_API_TIMEZONE
from pipeline.errors import UsageError
from pipeline.resources import sql_dir

When = str | datetime
Ids = str | int | Sequence[int]

_SPAN = re.compile(r"^(\d+)\s*([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


@dataclass(frozen=True)
class Window:
    """``[since, until)`` (aware, UTC), the zone times are shown in, and the job filter."""

    since: datetime
    until: datetime
    tz: ZoneInfo
    biz: tuple[int, ...] = ()
    jobs: tuple[int, ...] = ()

    @property
    def before(self) -> datetime:
        """The start of the same span before the window."""
        return self.since - (self.until - self.since)

    @property
    def filter_sql(self) -> str:
        """``${FILTER}`` of window.sql: a condition on bk_biz_id and job_instance_id."""
        parts = [
            f"{column} IN ({', '.join(str(i) for i in ids)})"
            for column, ids in (("bk_biz_id", self.biz), ("job_instance_id", self.jobs))
            if ids
        ]
        return " AND ".join(parts) or "TRUE"

    @property
    def filters(self) -> str:
        """The job filter in words ("" for every job)."""
        parts = []
        if self.biz:
            parts.append(f"business {', '.join(map(str, self.biz))}")
        if self.jobs:
            parts.append(f"job {', '.join(map(str, self.jobs))}")
        return "; ".join(parts)

    def local(self, value: datetime) -> datetime:
        return value.astimezone(self.tz)


def zone(name: str | None) -> ZoneInfo:
    """The time zone called ``name`` (default Asia/Shanghai); UsageError if unknown."""
    try:
        return ZoneInfo(name or DEFAULT_API_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(f"--api-timezone: unknown time zone {name!r}") from None


def parse_when(value: When, option: str, tz: ZoneInfo, now: datetime) -> datetime:
    """``value`` as an aware UTC datetime: ISO-8601 (no offset: ``tz``) or a span before now."""
    if isinstance(value, datetime):
        parsed = value
    else:
        text = value.strip()
        span = _SPAN.match(text)
        if span:
            return now - timedelta(seconds=int(span.group(1)) * _UNIT_SECONDS[span.group(2)])
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise UsageError(
                f"{option}: {value!r} is not an ISO-8601 time (2026-11-29 09:00, "
                "2026-11-29T01:00:00Z) or a span (6h, 2d)"
            ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(UTC)


def parse_ids(value: Ids | None, option: str) -> tuple[int, ...]:
    """``2``, ``"2,3"`` or ``[2, 3]`` as a sorted tuple of distinct positive integers."""
    if value is None:
        return ()
    if isinstance(value, int):
        items: list[object] = [value]
    elif isinstance(value, str):
        items = [p.strip() for p in value.split(",")]
    else:
        items = list(value)
    ids = set()
    for item in items:
        try:
            number = int(str(item), 10)
        except ValueError:
            number = 0
        if number <= 0 or isinstance(item, bool):
            raise UsageError(f"{option}: {item!r} is not a positive integer ID")
        ids.add(number)
    return tuple(sorted(ids))


def make_window(
    since: When | None,
    until: When | None,
    *,
    biz: Ids | None = None,
    job: Ids | None = None,
    api_timezone: str | None = None,
    now: datetime | None = None,
) -> Window | None:
    """The incident window asked for, or None for the nightly report (no ``since``)."""
    tz = zone(api_timezone)
    if since is None:
        for given, option in ((until, "--until"), (biz, "--biz"), (job, "--job")):
            if given is not None and given != ():
                raise UsageError(f"{option} needs --since (it selects the incident view)")
        return None
    now = now or datetime.now(UTC)
    try:
        start = parse_when(since, "--since", tz, now)
        end = parse_when(until, "--until", tz, now) if until is not None else now
        window = Window(start, end, tz, parse_ids(biz, "--biz"), parse_ids(job, "--job"))
        window.local(window.before)
    except OverflowError:
        raise UsageError("--since/--until: the window is out of the range of dates") from None
    if end <= start:
        raise UsageError(
            f"--until ({window.local(end).isoformat(sep=' ')}) is not after --since "
            f"({window.local(start).isoformat(sep=' ')})"
        )
    return window


def window_sql(window: Window) -> str:
    """``sql/window.sql`` with its placeholders filled in for ``window``."""
    text = (sql_dir() / "window.sql").read_text(encoding="utf-8")
    return Template(text).substitute(
        SINCE=window.since.isoformat(),
        UNTIL=window.until.isoformat(),
        BEFORE=window.before.isoformat(),
        FILTER=window.filter_sql,
    )
