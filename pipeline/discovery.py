"""Discovery: the job instances created in a time window, listed with get_job_instance_list.

``--since WHEN [--until WHEN] --biz N[,N...]``: WHEN is ISO-8601 (without an offset it is
read in --api-timezone) or a span back from now (``1d``, ``6h``, ``30m``, ``2w``). The window
is split into closed windows of at most 30 days (bk-job refuses longer ranges with
1241002) and each is read in pages of 1000 (``start += length`` while ``start < total``).
The window never reaches past "now": new jobs enter at the top of the newest-first list and
would shift the offsets of a window still filling up.

bk-job has no API that lists the businesses an app may see, so ``--biz`` (or ``biz = [..]``
in the config file) is required. A business whose listing fails (e.g. 9900403, no IAM
permission) becomes one ``fetch_errors`` row with a null ``job_instance_id``; the other
businesses go on. Jobs found are fetched whole (JobRef); the list row's operator fills the
field Job 3.x status answers lack. Jobs still unfinished in OUT are fetched again too
(``pipeline.intake``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any, Final
from zoneinfo import ZoneInfo

from pipeline.errors import ApiError, AuthError, UsageError
from pipeline.flatten import to_int
from pipeline.flavours.base import ApiRequest, Flavour
from pipeline.ids import JobRef
from pipeline.logs import log

#: Consts.MAX_SEARCH_TASK_HISTORY_RANGE_MILLS: the longest create-time range a list call takes
MAX_WINDOW_MS: Final = 30 * 86_400_000
PAGE_SIZE: Final = 1000
_SPAN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
_UNITS: Final = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}

JobKey = tuple[int, int]
Send = Callable[[ApiRequest], Any]


def parse_when(text: str, now: datetime, tz: tzinfo, option: str) -> datetime:
    """ISO-8601 (no offset: ``tz``) or a span back from ``now``; aware, UTC-comparable."""
    span = _SPAN.match(text)
    if span:
        return now - timedelta(**{_UNITS[span.group(2).lower()]: float(span.group(1))})
    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        raise UsageError(
            f"{option} {text!r}: expected ISO-8601 (2026-11-29T00:00) or a span back from "
            "now (1d, 6h, 30m)"
        ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=tz)


def resolve_window(
    since: str, until: str | None, now: datetime, tz: ZoneInfo
) -> tuple[datetime, datetime]:
    """The create-time window to list; an impossible one is a UsageError (exit 2)."""
    start = parse_when(since, now, tz, "--since")
    end = parse_when(until, now, tz, "--until") if until else now
    if start > now:
        raise UsageError(f"--since {since!r} is in the future ({start.isoformat()})")
    if end <= start:
        raise UsageError(f"--until {until!r} is not after --since {since!r}")
    return start, min(end, now)


def split_windows(start_ms: int, end_ms: int, max_ms: int = MAX_WINDOW_MS) -> list[tuple[int, int]]:
    """Closed windows ``[lo, hi]`` covering ``[start_ms, end_ms]``, each ``0 < hi - lo <=
    max_ms`` (the API's rule); a last one-millisecond remainder overlaps its neighbour."""
    windows: list[tuple[int, int]] = []
    lo = start_ms
    while lo <= end_ms:
        hi = min(lo + max_ms, end_ms)
        windows.append((hi - 1, hi) if hi == lo else (lo, hi))
        lo = hi + 1
    return windows


def _ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def list_pages(send: Send, flavour: Flavour, biz: int, window: tuple[int, int]) -> Iterator[Any]:
    """Every row of one window, page by page."""
    start = 0
    while True:
        page = send(flavour.list_request(biz, window, start, PAGE_SIZE))
        page = page if isinstance(page, Mapping) else {}
        rows = page.get("data")
        rows = rows if isinstance(rows, list) else []  # an empty page has data: null
        yield from rows
        total = to_int(page.get("total"))
        used = to_int(page.get("length")) or PAGE_SIZE
        start += used
        if not rows or total is None or start >= total:
            return


def parse_row(row: Any) -> tuple[int, dict[str, Any]] | None:
    """(job_instance_id, job facts) of a list row; the docs' ``id`` works too."""
    if not isinstance(row, Mapping):
        return None
    job = to_int(row.get("job_instance_id"))
    job = job if job is not None else to_int(row.get("id"))
    if job is None or job < 1:
        return None
    facts = {k: row.get(k) for k in ("operator", "name", "create_time") if row.get(k) is not None}
    return job, facts


@dataclass
class Discovered:
    refs: list[JobRef] = field(default_factory=list)
    #: job fields from the list rows, to fill where the status answer has none
    facts: dict[JobKey, dict[str, Any]] = field(default_factory=dict)
    #: (bk_biz_id, error) of every business whose listing failed
    failures: list[tuple[int, ApiError]] = field(default_factory=list)
    #: every business this run listed (its old listing-error rows are replaced)
    businesses: list[int] = field(default_factory=list)


def discover(
    send: Send, flavour: Flavour, businesses: Sequence[int], window: tuple[datetime, datetime]
) -> Discovered:
    """List every business's jobs created in ``window``; failures are per business."""
    found = Discovered(businesses=list(businesses))
    windows = split_windows(_ms(window[0]), _ms(window[1]))
    stop: ApiError | None = None
    for biz in businesses:
        if stop is not None:
            found.failures.append((biz, stop))  # rejected credentials: no call can succeed
            continue
        try:
            _list_business(send, flavour, biz, windows, found)
        except ApiError as err:
            log.warning("listing business %d failed: %s", biz, err.message,
                        extra={"event": "discovery_error", "kind": err.kind})  # fmt: skip
            found.failures.append((biz, err))
            if isinstance(err, AuthError) and err.credentials:
                stop = err
    log.info("discovered %d jobs in %d businesses (%d windows)", len(found.refs),
             len(businesses), len(windows), extra={"event": "discovered"})  # fmt: skip
    return found


def _list_business(
    send: Send, flavour: Flavour, biz: int, windows: list[tuple[int, int]], found: Discovered
) -> None:
    seen = {r.job_instance_id for r in found.refs if r.bk_biz_id == biz}
    for window in windows:
        for row in list_pages(send, flavour, biz, window):
            parsed = parse_row(row)
            if parsed is None or parsed[0] in seen:
                continue
            seen.add(parsed[0])
            found.refs.append(JobRef(biz, parsed[0]))
            found.facts[(biz, parsed[0])] = parsed[1]
