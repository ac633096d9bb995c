"""A client-side rate limit shared by all workers, which backs off when the server
says it is throttling and creeps back up when it stops (additive increase, multiplicative
decrease).

Calls are spaced at least ``1/rate`` apart (no bursts), so ``--rps R`` is never exceeded.
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
        self._next_slot = 0.0
        self._pause_until = 0.0
        self._recent: deque[float] = deque()
        self.throttle_events = 0
        #: bumped by every decrease; a request sent before it cannot tell anything new
        self._generation = 0

    def acquire(self, sleep: Callable[[float], None] | None = None) -> int:
        """Block until this caller may send a request (``sleep``: the caller's own way to
        wait, e.g. one that a stopping run cuts short). Returns the rate's generation, for
        :meth:`throttled`."""
        with self._lock:
            generation = self._generation
            now = self._clock()
            self._recent.append(now)
            while self._recent and self._recent[0] < now - 1.0:
                self._recent.popleft()
            slot = max(now, self._pause_until)
            if self.rate is not None:
                slot = max(slot, self._next_slot)
                self._next_slot = slot + 1.0 / self.rate
        if slot > now:
            (sleep or self._sleep)(slot - now)
        return generation

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
            observed = float(len(self._recent)) or MIN_RPS
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
