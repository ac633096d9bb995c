"""Concurrent fetching: a bounded number of requests in flight over one pooled session,
each with retries, all through one shared rate limiter. Results stream back in
completion order, so memory holds only what is in flight.

``concurrency`` bounds requests in flight, not workers: a worker that backs off before a
retry gives its slot to a helper (pipeline.crew), so 5% of calls failing does not idle
5% x backoff of the pool (with a 0.5 s backoff and 20 ms calls it would idle most of it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pipeline.client import ApiClient
from pipeline.crew import Crew
from pipeline.errors import ApiError
from pipeline.flatten import Answer
from pipeline.ids import JobRef, Ref
from pipeline.ratelimit import RateLimiter
from pipeline.retry import RetryPolicy, call_with_retries


class _Cancelled(Exception):
    """The run is stopping; this request was not sent."""


@dataclass(frozen=True)
class FetchResult:
    ref: Ref
    answer: Answer | None = None
    error: ApiError | None = None

    @property
    def attempted(self) -> bool:
        return self.answer is not None or self.error is not None


class Fetcher:
    def __init__(
        self,
        client: ApiClient,
        *,
        concurrency: int = 8,
        policy: RetryPolicy | None = None,
        limiter: RateLimiter | None = None,
        on_retry: Callable[[ApiError], None] | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        sleep: Callable[[float], None] | None = None,
        stop_on: Callable[[ApiError], bool] | None = None,
    ) -> None:
        """``sleep``: how backoff and rate-limit waits pass (None: real time, cut short by
        stop()); tests pass a fake. ``stop_on``: errors after which no request can succeed
        (rejected credentials): the worker that sees one stops the run at once, so no more
        than ``concurrency`` requests get that answer."""
        self.client = client
        self.concurrency = concurrency
        self.policy = policy or RetryPolicy()
        self.limiter = limiter or RateLimiter()
        self.on_retry = on_retry
        self.clock = clock
        self._stop = threading.Event()
        self._fake_sleep = sleep
        self._stop_on = stop_on
        self._slots = threading.BoundedSemaphore(concurrency)
        self._crew: Crew[Ref, FetchResult] | None = None

    def stop(self) -> None:
        """Let in-flight requests finish; send nothing new."""
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def pause(self, seconds: float) -> bool:
        """Wait, unless the run is stopping; True when it is."""
        return self._stop.wait(seconds)

    def _backoff(self, seconds: float) -> None:
        """A wait before a retry, holding no slot: a helper works meanwhile."""
        crew = self._crew
        with crew.waiting() if crew is not None else nullcontext():
            self._sleep(seconds)

    def _sleep(self, seconds: float) -> None:
        if self._fake_sleep is not None and not self._stop.is_set():
            self._fake_sleep(seconds)
        elif self._stop.is_set() or self._stop.wait(seconds):
            raise _Cancelled

    def _request(self, ref: Ref) -> Any:
        """One attempt, sent while holding a slot (see call_with_retries)."""
        if self._stop.is_set():
            raise _Cancelled
        try:
            if isinstance(ref, JobRef):
                return self.client.job_status(ref.bk_biz_id, ref.job_instance_id)
            c = self.client
            return c.step_status(ref.bk_biz_id, ref.job_instance_id, ref.step_instance_id)
        except ApiError as err:
            if self._stop_on is not None and self._stop_on(err):
                self._stop.set()  # before the slot is free: nobody sends another request
            raise

    def fetch_one(self, ref: Ref) -> FetchResult:
        last: list[ApiError] = []

        def retrying(err: ApiError) -> None:
            last[:] = [err]
            if self.on_retry is not None:
                self.on_retry(err)

        try:
            data, _ = call_with_retries(
                lambda: self._request(ref),
                self.policy,
                self.limiter,
                sleep=self._backoff,
                on_retry=retrying,
                slot=self._slots,
                pace=self._sleep,
            )
        except ApiError as err:
            return FetchResult(ref, error=err)
        except _Cancelled:
            # stopped while waiting to retry: the last answer is what this ID got
            return FetchResult(ref, error=last[0] if last else None)
        return FetchResult(ref, answer=Answer(ref, data, self.clock()))

    def fetch_all(self, refs: Iterable[Ref]) -> Iterator[FetchResult]:
        """Results in completion order; after stop(), unsent refs come back unattempted."""
        crew = Crew(self.fetch_one, refs, self.concurrency, self._stop.is_set)
        self._crew = crew
        try:
            yield from crew.run()
        except BaseException:
            # Ctrl-C or a consumer that gave up: let in-flight calls end quickly.
            self._stop.set()
            crew.join()
            raise
        finally:
            self._crew = None
        for ref in crew.remaining():
            yield FetchResult(ref)
