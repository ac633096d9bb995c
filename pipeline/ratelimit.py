"""A client-side rate limit shared by all workers, which backs off when the server
says it is throttling and creeps back up when it stops (additive increase, multiplicative
decrease).

Calls are spaced at least ``1/rate`` apart (no bursts), and 1% more than that, so a call
that a busy interpreter sends a few milliseconds late cannot put R+1 calls into one second:
``--rps R`` is never exceeded.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Final

MIN_RPS: Final = 1.0
#: a throttle signal halves the rate
DECREASE_FACTOR: Final = 0.5
#: default pause when the server did not say how long (ESB's 1306429 has no header)
DEFAULT_PAUSE_S: Final = 1.0
MAX_PAUSE_S: Final = 600.0
#: spacing = (1 + SPACING_MARGIN) / rate: 10 ms of slack per second for late senders
SPACING_MARGIN: Final = 0.01
GRANT_HISTORY: Final = 4096


class RateLimiter:
    def __init__(
        self,
        rps: float | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.ceiling = rps
        self.rate = rps  # None: no limit until the server first pushes back
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._turn = threading.Condition(self._lock)  # one lock guards all the state
        self._tickets = 0
        self._serving = 0
        self._next_slot = 0.0
        self._last_grant = -1e9
        self._pause_until = 0.0
        #: recent grant times: the cap, and the observed rate of an unlimited client
        self._grants: deque[float] = deque(maxlen=GRANT_HISTORY)
        self.throttle_events = 0
        #: bumped by every decrease; a request sent before it cannot tell anything new
        self._generation = 0

    def acquire(self, sleep: Callable[[float], None] | None = None) -> int:
        """Block until this caller may send a request (``sleep``: the caller's own way to
        wait, e.g. one that a stopping run cuts short). Returns the rate's generation, for
        :meth:`throttled`.

        Callers go in turn (first come, first served), each at its slot of a fixed
        schedule: one that woke a little late is made up for by the next, never at the
        cost of the cap, as at most ``n`` grants fall into any ``n`` spacings.
        """
        with self._turn:
            now = self._clock()
            if self._tickets == self._serving and self._ready() <= now:
                self._grant(now)  # nobody waiting, nothing to wait for: the common case
                return self._generation
            ticket = self._tickets
            self._tickets += 1
            while ticket != self._serving:
                self._turn.wait()
            now, ready = self._clock(), self._ready()
        try:
            if ready > now:
                (sleep or self._sleep)(ready - now)
            with self._lock:
                self._grant(max(self._clock(), ready))  # a fake sleep does not move the clock
                return self._generation
        finally:
            with self._turn:
                self._serving += 1
                self._turn.notify_all()

    def _ready(self) -> float:
        if self.rate is None:
            return self._pause_until
        spacing = self._spacing()
        ready = max(self._pause_until, self._next_slot, self._last_grant + spacing / 2)
        n = max(1, int(self.rate))
        if len(self._grants) >= n:  # the cap: n grants span at least n spacings
            ready = max(ready, self._grants[-n] + n * spacing)
        return ready

    def _grant(self, at: float) -> None:
        if self.rate is not None:
            # on schedule after a late grant; half a spacing on after an idle spell
            self._next_slot = max(self._next_slot, at - self._spacing() / 2) + self._spacing()
        self._last_grant = at
        self._grants.append(at)

    def _spacing(self) -> float:
        return 0.0 if self.rate is None else (1.0 + SPACING_MARGIN) / self.rate

    def throttled(self, pause_s: float | None = None, generation: int | None = None) -> None:
        """The server said "too many requests": halve the rate and pause everyone.

        ``generation``: what :meth:`acquire` returned for the throttled request. The
        answers to one burst arrive together; only the first of them halves the rate,
        else eight workers would cut it to 1/256 at once.
        """
        with self._lock:
            self.throttle_events += 1
            pause = min(pause_s if pause_s and pause_s > 0 else DEFAULT_PAUSE_S, MAX_PAUSE_S)
            self._pause_until = max(self._pause_until, self._clock() + pause)
            if generation is not None and generation != self._generation:
                return  # sent before the last decrease took effect
            self._generation += 1
            now = self._clock()
            observed = float(sum(1 for g in self._grants if g > now - 1.0)) or MIN_RPS
            current = self.rate if self.rate is not None else observed
            self.rate = max(MIN_RPS, current * DECREASE_FACTOR)

    def succeeded(self) -> None:
        """An answer came back: raise the rate by about one request/s per second."""
        with self._lock:
            if self.rate is None:
                return
            self.rate += 1.0 / self.rate
            if self.ceiling is not None:
                self.rate = min(self.rate, self.ceiling)
