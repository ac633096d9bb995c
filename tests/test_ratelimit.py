from __future__ import annotations

from pipeline.ratelimit import MIN_RPS, SPACING_MARGIN, RateLimiter
from tests.test_retry import FakeClock


def test_requests_are_spaced_and_never_exceed_the_ceiling() -> None:
    clock = FakeClock()
    limiter = RateLimiter(50.0, clock=clock, sleep=clock.sleep)
    times = []
    for _ in range(200):
        limiter.acquire()
        times.append(clock.now)
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert min(gaps) >= 1 / 50 - 1e-9
    # 1% wider than 1/rate: slack for a sender that runs a few ms late
    assert abs((times[-1] - times[0]) - 199 / 50 * (1 + SPACING_MARGIN)) < 1e-6


def test_no_limit_means_no_waiting() -> None:
    clock = FakeClock()
    limiter = RateLimiter(None, clock=clock, sleep=clock.sleep)
    for _ in range(1000):
        limiter.acquire()
    assert clock.slept == []


def test_throttle_halves_pauses_and_recovers_up_to_the_ceiling() -> None:
    clock = FakeClock()
    limiter = RateLimiter(40.0, clock=clock, sleep=clock.sleep)
    limiter.throttled(pause_s=5.0)
    assert limiter.rate == 20.0
    limiter.acquire()
    assert clock.now >= 5.0  # everyone paused until the server's reset
    for _ in range(10_000):
        limiter.succeeded()
    assert limiter.rate == 40.0


def test_unlimited_client_gets_a_limit_from_what_it_was_sending() -> None:
    clock = FakeClock()
    limiter = RateLimiter(None, clock=clock, sleep=clock.sleep)
    for _ in range(30):
        limiter.acquire()
        clock.now += 0.01  # 100 requests/s observed
    limiter.throttled()
    assert limiter.rate is not None and 10.0 <= limiter.rate <= 50.0
    for _ in range(50):
        limiter.throttled()
    assert limiter.rate == MIN_RPS
