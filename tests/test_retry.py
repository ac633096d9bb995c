"""Retry mechanics: exact call counts, backoff shape, no real sleeping."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from pipeline.errors import ApiError, FatalApiError, RetriableApiError
from pipeline.ratelimit import RateLimiter
from pipeline.retry import RetryPolicy, call_with_retries


def flaky(failures: list[ApiError]) -> tuple[Callable[[], str], list[int]]:
    calls: list[int] = []

    def call() -> str:
        calls.append(1)
        if failures:
            raise failures.pop(0)
        return "ok"

    return call, calls


def retriable(kind: str = "timeout", **kw: object) -> RetriableApiError:
    return RetriableApiError(kind, f"{kind} happened", **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", ["timeout", "connection", "http", "invalid_response", "api_error"])
def test_each_retriable_kind_is_retried_until_success(kind: str) -> None:
    sleeps: list[float] = []
    call, calls = flaky([retriable(kind), retriable(kind)])
    result, attempts = call_with_retries(call, RetryPolicy(), RateLimiter(), sleep=sleeps.append)
    assert (result, attempts, len(calls)) == ("ok", 3, 3)
    assert len(sleeps) == 2


def test_retries_stop_after_max_and_carry_attempts() -> None:
    sleeps: list[float] = []
    call, calls = flaky([retriable() for _ in range(10)])
    with pytest.raises(RetriableApiError) as info:
        call_with_retries(call, RetryPolicy(max_retries=3), RateLimiter(), sleep=sleeps.append)
    assert len(calls) == 4 and info.value.attempts == 4 and len(sleeps) == 3


def test_fatal_answers_are_not_retried() -> None:
    sleeps: list[float] = []
    call, calls = flaky([FatalApiError("not_found", "gone")])
    with pytest.raises(FatalApiError) as info:
        call_with_retries(call, RetryPolicy(), RateLimiter(), sleep=sleeps.append)
    assert len(calls) == 1 and info.value.attempts == 1 and sleeps == []


def test_backoff_grows_exponentially_and_is_capped() -> None:
    sleeps: list[float] = []
    call, _ = flaky([retriable() for _ in range(8)])
    policy = RetryPolicy(max_retries=8, initial_s=1.0, max_s=10.0, jitter_s=0.0)
    call_with_retries(call, policy, RateLimiter(), sleep=sleeps.append)
    assert sleeps == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0, 10.0, 10.0]


def test_jitter_stays_within_its_bound() -> None:
    sleeps: list[float] = []
    call, _ = flaky([retriable() for _ in range(5)])
    policy = RetryPolicy(max_retries=5, initial_s=1.0, max_s=100.0, jitter_s=0.5)
    call_with_retries(call, policy, RateLimiter(), sleep=sleeps.append)
    for n, slept in enumerate(sleeps):
        assert 2**n <= slept <= 2**n + 0.5


def test_retry_after_is_honoured() -> None:
    sleeps: list[float] = []
    call, _ = flaky([retriable("http", http_status=503, retry_after=7.0)])
    policy = RetryPolicy(initial_s=0.1, jitter_s=0.0)
    call_with_retries(call, policy, RateLimiter(), sleep=sleeps.append)
    assert sleeps == [7.0]


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_rate_limit_answers_slow_the_shared_limiter() -> None:
    clock = FakeClock()
    limiter = RateLimiter(20.0, clock=clock, sleep=clock.sleep)
    err = retriable("api_error", http_status=200, api_code=1306429)
    call, _ = flaky([err])
    call_with_retries(call, RetryPolicy(jitter_s=0.0), limiter, sleep=clock.sleep)
    assert limiter.throttle_events == 1
    assert limiter.rate is not None and limiter.rate < 20.0
