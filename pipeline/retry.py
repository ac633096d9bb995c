"""Retrying one API call: capped exponential backoff with jitter (tenacity), Retry-After
and the gateway's X-Bkapi-RateLimit-Reset honoured, every attempt through the shared
rate limiter. Only RetriableApiError is retried; fatal answers return at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Final, TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from pipeline.errors import ApiError, RetriableApiError
from pipeline.ratelimit import RateLimiter

T = TypeVar("T")

INITIAL_BACKOFF_S: Final = 0.5
MAX_BACKOFF_S: Final = 30.0
JITTER_S: Final = 0.5
#: a server-given pause longer than this is capped (a night has only so many hours)
MAX_RETRY_AFTER_S: Final = 600.0


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 5
    initial_s: float = INITIAL_BACKOFF_S
    max_s: float = MAX_BACKOFF_S
    jitter_s: float = JITTER_S

    def wait(self) -> Callable[[RetryCallState], float]:
        backoff = wait_exponential_jitter(
            multiplier=self.initial_s, max=self.max_s, jitter=self.jitter_s
        )

        def wait(state: RetryCallState) -> float:
            err = state.outcome.exception() if state.outcome else None
            server = err.retry_after if isinstance(err, ApiError) and err.retry_after else 0.0
            return max(backoff(state), min(server, MAX_RETRY_AFTER_S))

        return wait


def call_with_retries(
    call: Callable[[], T],
    policy: RetryPolicy,
    limiter: RateLimiter,
    *,
    sleep: Callable[[float], None] | None = None,
    on_retry: Callable[[ApiError], None] | None = None,
    slot: AbstractContextManager[object] | None = None,
    pace: Callable[[float], None] | None = None,
) -> tuple[T, int]:
    """Run ``call`` until it succeeds, fails for good, or retries run out.

    ``sleep`` passes the backoff, ``pace`` the limiter's waits (None: real time for the
    backoff; ``sleep``, else the limiter's own, for its waits). ``slot`` is held for each
    attempt, not for the backoff between attempts (the fetcher's bound on requests in
    flight); the limiter is asked inside it, so a request leaves when its rate slot
    comes. Returns (result, attempts). A raised ApiError carries ``attempts``.
    """
    attempts = 0

    def attempt() -> T:
        nonlocal attempts
        attempts += 1
        with slot or nullcontext():
            generation = limiter.acquire(pace or sleep)
            try:
                result = call()
            except ApiError as err:
                err.attempts = attempts
                if err.rate_limited:
                    limiter.throttled(err.retry_after, generation)
                raise
        limiter.succeeded()
        return result

    def before_sleep(state: RetryCallState) -> None:
        err = state.outcome.exception() if state.outcome else None
        if on_retry is not None and isinstance(err, ApiError):
            on_retry(err)

    retrying = Retrying(
        stop=stop_after_attempt(policy.max_retries + 1),
        wait=policy.wait(),
        retry=retry_if_exception_type(RetriableApiError),
        sleep=sleep or time.sleep,
        before_sleep=before_sleep,
        reraise=True,
    )
    result = retrying(attempt)
    return result, attempts
