"""What a run fetches: the IDs given, the jobs discovered in a window, and the jobs OUT
still holds as unfinished; checked before any call, gathered after the flavour is known.

Jobs created before a run but still running then are picked up again by the next run:
with ``--since`` (or ``--refresh-unfinished``) every job that has a step with
``is_finished = false`` in OUT's ``steps`` is fetched again, whatever its create time, so
the newest answer replaces the running one. A business whose listing failed leaves one
``fetch_errors`` row with a null ``job_instance_id`` and ``step_instance_id``; a later run
that lists it again replaces that row.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipeline.client import ApiClient
from pipeline.config import Settings
from pipeline.dataset.csvfmt import CsvFormat
from pipeline.dataset.formats import FileFormat
from pipeline.dataset.parquetfmt import ParquetFormat
from pipeline.dataset.plan import scan_table
from pipeline.discovery import Discovered, Send, discover, resolve_window
from pipeline.errors import UsageError
from pipeline.flatten import fetch_error_batch, to_int
from pipeline.flavours.base import ApiRequest, Flavour
from pipeline.flavours.probe import resolve_flavour
from pipeline.ids import JobRef, Ref
from pipeline.ratelimit import RateLimiter
from pipeline.retry import RetryPolicy, call_with_retries
from pipeline.schema import STEPS

Key = tuple[object, ...]


@dataclass(frozen=True)
class Asked:
    """The request of a run, checked: nothing here has called the API."""

    refs: list[Ref]
    window: tuple[datetime, datetime] | None
    businesses: tuple[int, ...]
    refresh: bool

    @property
    def probe_biz(self) -> int:
        """A business for ``--api auto``'s probe call."""
        if self.businesses:
            return self.businesses[0]
        return self.refs[0].bk_biz_id if self.refs else 1


def check_request(settings: Settings, refs: Sequence[Ref], now: datetime | None = None) -> Asked:
    """The IDs and window asked for; a UsageError (exit 2) for a request that cannot run."""
    now = now or datetime.now(UTC)
    window = None
    if settings.since:
        if not settings.biz:
            raise UsageError(
                "--since needs --biz N[,N...] (or biz = [...] in --config): bk-job's API "
                "cannot list the businesses an app may see"
            )
        window = resolve_window(settings.since, settings.until, now, settings.tz)
    elif settings.until:
        raise UsageError("--until needs --since")
    refresh = settings.refresh_unfinished or window is not None
    if not refs and window is None and not refresh:
        raise UsageError(
            "nothing to fetch: give --ids FILE, --step, --job, --retry-failed OUT or --since WHEN"
        )
    return Asked(list(refs), window, tuple(settings.biz or ()), refresh)


def gather(asked: Asked, out: Path, send: Send, flavour: Flavour) -> Discovered:
    """Discover the window's jobs (if any), plus OUT's unfinished jobs (if refreshing)."""
    found = Discovered()
    if asked.window is not None:
        found = discover(send, flavour, asked.businesses, asked.window)
    if asked.refresh:
        found.refs += unfinished_refs(out)
    return found


def unfinished_refs(out: Path) -> list[JobRef]:
    """Jobs with a step that OUT's ``steps`` holds as not finished."""
    folder = out / "steps"
    if not folder.is_dir():
        return []
    fmt: FileFormat = (
        ParquetFormat() if next(folder.rglob("*.parquet"), None) is not None else CsvFormat()
    )
    found: dict[JobRef, None] = {}
    for existing in scan_table(folder, STEPS, fmt):
        biz = _partition_value(existing.partition, "bk_biz_id")
        cols = fmt.read_columns(
            existing.path, STEPS.file_schema, ["job_instance_id", "is_finished"]
        )
        jobs, finished = (cols.column(n).to_pylist() for n in ("job_instance_id", "is_finished"))
        for job, done in zip(jobs, finished, strict=True):
            if biz is not None and job is not None and done is not True:
                found[JobRef(biz, job)] = None
    return list(found)


def _partition_value(parts: Sequence[str], name: str) -> int | None:
    for part in parts:
        key, _, value = part.partition("=")
        if key == name:
            return to_int(value)
    return None


def listing_errors(found: Discovered, fetched_at: datetime, run_id: str) -> pa.RecordBatch:
    """``fetch_errors`` rows of the businesses whose listing failed (no job, no step)."""
    failures = [((biz, None, None), err) for biz, err in found.failures]
    return fetch_error_batch(failures, fetched_at, run_id)


def listing_keys(found: Discovered) -> set[Key]:
    """The listing-error rows this run supersedes: one per business it listed."""
    return {(biz, None, None) for biz in found.businesses}


def exit_code(ledger_code: int, found: Discovered, exported: bool) -> int:
    """The run's exit status with failed listings: 3 when anything else worked."""
    if not found.failures or ledger_code == 4:
        return ledger_code
    if exported or len(found.failures) < len(found.businesses):
        return 3
    return 4


def retrying(
    client: ApiClient, policy: RetryPolicy, limiter: RateLimiter, sleep: Callable[[float], None]
) -> Send:
    """One call with the run's retry policy and rate limit: discovery's way to call."""

    def send(req: ApiRequest) -> Any:
        return call_with_retries(lambda: client.send(req), policy, limiter, sleep=sleep)[0]

    return send


def prepare(asked: Asked, settings: Settings, client: ApiClient, send: Send) -> Discovered:
    """Resolve ``--api`` (probing for auto: one or two calls), then gather the IDs."""
    client.flavour = resolve_flavour(client, settings.api, settings.apigw_stage, asked.probe_biz)
    return gather(asked, settings.out, send, client.flavour)
