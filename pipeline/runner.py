"""The export pipeline: requested IDs -> fetch -> flatten -> write -> manifest -> report.

Usable from a notebook: ``pipeline.run(settings, refs)`` / ``pipeline.fetch(...)``.
Answers are flattened in bounded batches as they arrive and streamed to the writer, so
memory does not grow with the run.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import pyarrow.compute as pc
import requests

from pipeline.client import ApiClient, Credentials
from pipeline.config import Settings, require_api
from pipeline.discovery import Discovered
from pipeline.errors import ApiError, Interrupted
from pipeline.fetcher import Fetcher, FetchResult
from pipeline.flatten import Answer, FlattenContext, error_batch, flatten, job_info
from pipeline.flavours.units import plan_units, split_result, with_facts
from pipeline.ids import Ref, dedupe
from pipeline.intake import check_request, listing_errors, listing_keys, prepare, retrying
from pipeline.intake import exit_code as listing_exit_code
from pipeline.interrupts import deferred_sigint
from pipeline.ledger import Ledger, failed_refs, step_item_key, stops_at_once
from pipeline.logs import log
from pipeline.logs_fetch import HostLogs
from pipeline.logs_fetch import replace_keys as log_keys
from pipeline.manifest import Manifest, write_manifest
from pipeline.metrics import write_metrics
from pipeline.outputs import TableWriter, open_writer, publish_run
from pipeline.progress import tracker
from pipeline.ratelimit import RateLimiter
from pipeline.retry import RetryPolicy
from pipeline.shard import select as shard_select
from pipeline.waiting import POLL_INITIAL_S, is_unfinished, wait_finished

FLUSH_ANSWERS: Final = 256
FLUSH_HOSTS: Final = 200_000
CHECKPOINT_EVERY: Final = 2_000


@dataclass(frozen=True)
class Tuning:
    """Knobs of a run that tests and benchmarks turn; the defaults are a night's."""

    #: None: capped exponential backoff with ``settings.max_retries``
    retry_policy: RetryPolicy | None = None
    #: how backoff and rate-limit waits pass (None: real time, cut short by Ctrl-C)
    sleep: Callable[[float], None] | None = None
    #: answers between checkpoints (what a killed run can lose)
    checkpoint_every: int = CHECKPOINT_EVERY
    #: first pause of --wait-finished (it doubles up to a minute)
    poll_initial_s: float = POLL_INITIAL_S
    #: "now" for --since/--until spans and the discovery window (None: the wall clock)
    now: datetime | None = None


@dataclass
class RunResult:
    manifest: Manifest
    out: Path
    report: Path | None = None

    @property
    def exit_code(self) -> int:
        return self.manifest.exit_code


@dataclass
class _Batcher:
    """Answers waiting to be flattened and written, and item keys waiting for a checkpoint."""

    writer: TableWriter
    ctx: FlattenContext
    ledger: Ledger
    checkpoint_every: int = CHECKPOINT_EVERY
    answers: list[Answer] = field(default_factory=list)
    hosts: int = 0
    done: list[str] = field(default_factory=list)
    since_checkpoint: int = 0
    incomplete_hosts: int = 0
    #: --with-logs: notes the failed hosts of every flushed batch
    logs: HostLogs | None = None

    def add(self, answer: Answer) -> None:
        self.answers.append(answer)
        self.hosts += _host_hint(answer.data)
        full = len(self.answers) >= min(FLUSH_ANSWERS, self.checkpoint_every)
        if full or self.hosts >= FLUSH_HOSTS:
            self.flush()
            if self.since_checkpoint >= self.checkpoint_every:
                self.checkpoint()

    def flush(self) -> None:
        if not self.answers:
            return
        flat = flatten(self.answers, self.ctx)
        self.writer.write("steps", flat.steps)
        self.writer.write("step_hosts", flat.step_hosts)
        if self.logs is not None:
            self.logs.add(flat.step_hosts)
        self.writer.write_job_info(job_info(self.answers, self.ctx))
        complete = pc.sum(flat.steps.column("hosts_complete")).as_py() or 0
        self.incomplete_hosts += flat.steps.num_rows - complete
        self.ledger.record_success(flat.step_keys)
        self.done += [a.ref.key for a in self.answers] + [step_item_key(k) for k in flat.step_keys]
        self.since_checkpoint += len(self.answers)
        self.answers, self.hosts = [], 0

    def checkpoint(self) -> None:
        """Make everything written so far durable, for ``--resume``."""
        self.flush()
        self.writer.checkpoint(self.done)
        self.done, self.since_checkpoint = [], 0


def _host_hint(data: Any) -> int:
    """A cheap host count of an answer, to bound the batch by host rows."""
    if not isinstance(data, dict):
        return 0
    detail = data.get("step_instance_detail")
    n = detail.get("total_ip_num") if isinstance(detail, dict) else None
    return n if isinstance(n, int) else 1


def new_run_id(now: datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%SZ-") + secrets.token_hex(3)


def _credentials(settings: Settings) -> Credentials:
    assert settings.app_code and settings.app_secret
    return Credentials(settings.app_code, settings.app_secret, settings.username, settings.token)


def _handle(result: FetchResult, batcher: _Batcher, ledger: Ledger, fetcher: Fetcher,
            held: dict[Ref, Answer], hold_unfinished: bool) -> None:  # fmt: skip
    if result.answer is not None:
        if hold_unfinished and is_unfinished(result.answer):
            held[result.ref] = result.answer
        else:
            batcher.add(result.answer)
    elif result.error is not None:
        _record_failure(result.ref, result.error, ledger, fetcher)
    else:
        ledger.record_unattempted(result.ref)


def _record_failure(ref: Ref, err: ApiError, ledger: Ledger, fetcher: Fetcher) -> None:
    """Log a failure once; the one that stops the run gives the run's one error line."""
    stopping = ledger.stop_reason is not None
    denied_before = ref.bk_biz_id in ledger.denied_biz
    ledger.record_failure(ref, err)
    extra = {"event": "fetch_error", "kind": err.kind, "attempts": err.attempts}
    if ledger.stop_reason is None and ref.bk_biz_id in ledger.denied_biz:
        # one line per business, not one per ID: IAM grants per business
        level = logging.DEBUG if denied_before else logging.WARNING
        log.log(level, "no permission on business %d (%s): its IDs go to fetch_errors",
                ref.bk_biz_id, err.message, extra=extra)  # fmt: skip
    elif ledger.stop_reason is None:
        log.warning("%s failed: %s", ref, err.message, extra=extra)
    elif not stopping:
        log.error("stopping: %s", ledger.stop_reason.message, extra={**extra, "event": "stop"})
        fetcher.stop()
    else:
        log.debug("%s failed: %s", ref, err.message, extra=extra)


def _interrupted(out: Path, kept: int | None = None) -> str:
    what = f"{kept} steps kept" if kept is not None else "the last checkpoint kept"
    return f"interrupted: {what} in {out}; run again with --resume to fetch the rest"


def export(
    settings: Settings,
    refs: Sequence[Ref],
    *,
    command: str = "run",
    session: requests.Session | None = None,
    interactive: bool = False,
    tuning: Tuning | None = None,
) -> RunResult:
    """Fetch ``refs`` (plus ``--retry-failed``) into ``settings.out``; see CONTRACT.md."""
    tuning = tuning or Tuning()
    require_api(settings)
    explicit = list(refs) + (failed_refs(settings.retry_failed) if settings.retry_failed else [])
    asked = check_request(settings, explicit, tuning.now)  # bad usage: before any call
    started = datetime.now(UTC)
    run_id = new_run_id(started)
    assert settings.api_url
    client = ApiClient(settings.api_url, _credentials(settings), session=session,
                       timeout=settings.timeout, pool_size=settings.concurrency)  # fmt: skip
    policy = tuning.retry_policy or RetryPolicy(max_retries=settings.max_retries)
    limiter = RateLimiter(settings.rps)
    send = retrying(client, policy, limiter, tuning.sleep or time.sleep)  # discovery, logs
    found = prepare(asked, settings, client, send)
    wanted = dedupe(explicit + list(found.refs))
    wanted = shard_select(wanted, settings.shard)  # --shard K/N: this host's share (may be none)
    ledger = Ledger(concurrency=settings.concurrency, requested=wanted)
    retries, retries_lock = 0, threading.Lock()  # workers count retries at once

    def count_retry(_: object) -> None:
        nonlocal retries
        with retries_lock:
            retries += 1

    fetcher = Fetcher(client, concurrency=settings.concurrency, policy=policy,
                      limiter=limiter, on_retry=count_retry,
                      sleep=tuning.sleep, stop_on=stops_at_once)  # fmt: skip
    with open_writer(settings, run_id) as writer:
        resumed = writer.resumed_items() if settings.resume else set()
        ledger.adopt_resumed(resumed)
        todo = [r for r in wanted if r.key not in resumed]
        batcher = _Batcher(writer, FlattenContext(settings.tz, run_id), ledger,
                           tuning.checkpoint_every)  # fmt: skip
        batcher.logs = HostLogs(settings.log_tail_kib) if settings.with_logs else None
        held: dict[Ref, Answer] = {}
        log.info("run %s: %d items to fetch (%d resumed)", run_id, len(todo),
                 len(wanted) - len(todo), extra={"event": "start", "run_id": run_id})  # fmt: skip
        try:
            # Ctrl-C stops the fetcher and is acted on here, between batches (interrupts.py)
            with deferred_sigint(fetcher.stop) as interrupted:
                units = plan_units(todo, client.flavour.name)  # esb-v3: one call per job
                with tracker(len(todo), interactive=interactive) as progress:
                    n = 0
                    for unit in fetcher.fetch_all(units):
                        for result in split_result(unit, units[unit.ref], found.facts):
                            _handle(result, batcher, ledger, fetcher, held,
                                    bool(settings.wait_finished))  # fmt: skip
                        n += len(units[unit.ref])
                        progress.update(done=n, failed=len(ledger.failures), retrying=retries)
                if held and not interrupted():
                    assert settings.wait_finished
                    waited = wait_finished(fetcher, held, settings.wait_finished,
                                           initial_s=tuning.poll_initial_s)  # fmt: skip
                    for answer in waited:
                        batcher.add(with_facts(answer, found.facts))
        except KeyboardInterrupt:  # a second Ctrl-C: the last checkpoint is what is kept
            raise Interrupted(_interrupted(settings.out)) from None
        if interrupted():
            batcher.checkpoint()
            raise Interrupted(_interrupted(settings.out, len(ledger.exported)))
        batcher.flush()
        if batcher.logs is not None and not fetcher.stopped:
            for logs in batcher.logs.fetch(send, client.flavour, settings.concurrency, run_id):
                writer.write("step_host_logs", logs)
        ledger.settle()
        if ledger.failures:
            writer.write("fetch_errors", error_batch(ledger.failures, datetime.now(UTC), run_id))
        if found.failures:
            writer.write("fetch_errors", listing_errors(found, datetime.now(UTC), run_id))
        replace = ledger.replace_keys()
        replace["fetch_errors"] |= listing_keys(found)
        if batcher.logs is not None:
            replace["step_host_logs"] = log_keys(ledger.exported)
        counts = writer.commit(replace)
    manifest = _manifest(settings, command, started, run_id, ledger, found, batcher, counts,
                         resumed=len(wanted) - len(todo), retries=retries)  # fmt: skip
    write_manifest(settings.out, manifest)
    if settings.metrics_file:
        write_metrics(settings.metrics_file, manifest)
    outcome = RunResult(manifest, settings.out)
    if command == "run" and not settings.out_uri:  # object storage: report via Spark/Trino
        from pipeline.report import render_report

        outcome.report = render_report(settings.out, settings.html)
    publish_run(settings, run_id)  # --out s3://...: manifest and _runs/ to the bucket
    return outcome


def _manifest(settings: Settings, command: str, started: datetime, run_id: str,
              ledger: Ledger, found: Discovered, batcher: _Batcher, counts: dict[str, int], *,
              resumed: int, retries: int) -> Manifest:  # fmt: skip
    """What the run did, with its warnings, for manifest.json, metrics and the summary."""
    warnings = batcher.logs.warnings() if batcher.logs is not None else []
    if batcher.incomplete_hosts:
        warnings.append(
            f"{batcher.incomplete_hosts} steps have incomplete host lists: the API listed hosts "
            "only for some result groups (Job 3.x v2 get_step_instance_status); use --api "
            "esb-v3 (jobv3 get_job_instance_status with return_ip_result lists every host), "
            "or request them by job (--job)"
        )
    return Manifest(
        run_id=run_id, started_at=started, finished_at=datetime.now(UTC),
        api_url=settings.api_url, requested=len(ledger.requested) + len(found.failures),
        exit_code=listing_exit_code(ledger.exit_code(), found, bool(ledger.exported)),
        exported=len(ledger.exported), failed=len(ledger.failures) + len(found.failures),
        counts=counts, warnings=warnings, command=command, format=settings.format,
        resumed=resumed, retries=retries,
    )  # fmt: skip


def run(settings: Settings, refs: Sequence[Ref], **kwargs: Any) -> RunResult:
    """The nightly job: fetch, write the datasets, render the report."""
    return export(settings, refs, command="run", **kwargs)


def fetch(settings: Settings, refs: Sequence[Ref], **kwargs: Any) -> RunResult:
    """Fetch and write the datasets, without the report."""
    return export(settings, refs, command="fetch", **kwargs)
