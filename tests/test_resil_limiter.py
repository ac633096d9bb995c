"""The shared rate limiter's decrease: once per burst, not once per refused request."""

from __future__ import annotations

from pipeline.ratelimit import SPACING_MARGIN, RateLimiter
from tests.test_retry import FakeClock


def test_refusals_of_one_burst_halve_the_rate_once() -> None:
    clock = FakeClock()
    limiter = RateLimiter(40.0, clock=clock, sleep=clock.sleep)
    tickets = [limiter.acquire() for _ in range(8)]  # eight workers sent at 40/s
    for ticket in tickets:  # ... and all eight were refused
        limiter.throttled(1.0, ticket)
    assert limiter.rate == 20.0 and limiter.throttle_events == 8
    # a request sent after the decrease that is refused too halves again
    limiter.throttled(1.0, limiter.acquire())
    assert limiter.rate == 10.0


def test_a_stale_refusal_still_pauses_everyone() -> None:
    clock = FakeClock()
    limiter = RateLimiter(None, clock=clock, sleep=clock.sleep)
    old = limiter.acquire()
    limiter.throttled(1.0, limiter.acquire())
    clock.now = 0.5
    limiter.throttled(3.0, old)  # sent before the decrease: no new decrease, but the pause
    start = clock.now
    limiter.acquire()
    assert clock.now - start >= 3.0 - 1e-9


def test_caller_sleep_is_used_for_waits() -> None:
    clock = FakeClock()
    limiter = RateLimiter(10.0, clock=clock, sleep=clock.sleep)
    waited: list[float] = []
    limiter.acquire(waited.append)
    limiter.acquire(waited.append)
    assert waited and abs(waited[-1] - 0.1 * (1 + SPACING_MARGIN)) < 1e-9
    assert clock.slept == []
