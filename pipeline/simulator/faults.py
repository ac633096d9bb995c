"""Injected faults, deterministic per (seed, request identity, attempt number).

The server counts attempts per identity (path + parameters without credentials), so a
client that retries sees attempt 2, 3, ... and can get through; the fault of attempt n
is ``FaultConfig.decide(identity, n)``, a pure function.

Kinds and what the client sees:
    reset           the socket closes (RST) without an answer
    timeout         no answer for ``hang_s``; then ESB's 1306201 "third-party timeout"
    error_5xx       HTTP 502 or 503 with an API gateway error body and X-Bkapi-Error-* headers
    gateway_429     HTTP 429, code 1642901, X-Bkapi-RateLimit-{Limit,Remaining,Reset} headers
    esb_rate_limit  HTTP 200, result false, code 1306429 (ESB frequency limit)
    truncated_json  the real answer cut in half, Content-Length of the cut body
    non_json        HTTP 200 text/html: a login page, as a proxy in front of ESB would send
``rps_limit`` is not a fault but a real fixed-window (1 s) limiter answering 1306429.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

FaultKind = Literal[
    "reset",
    "timeout",
    "error_5xx",
    "gateway_429",
    "esb_rate_limit",
    "truncated_json",
    "non_json",
]
#: the order of the cumulative draw; part of the determinism contract
FAULT_KINDS: tuple[FaultKind, ...] = (
    "reset",
    "timeout",
    "error_5xx",
    "gateway_429",
    "esb_rate_limit",
    "truncated_json",
    "non_json",
)
#: faults that happen before the request reaches ESB's checks (proxy / gateway layer)
TRANSPORT_FAULTS: frozenset[FaultKind] = frozenset({"reset", "timeout", "error_5xx", "gateway_429"})

#: ESB's default upstream timeout (``paas2/esb/conf/default.py``)
DEFAULT_HANG_S = 30.0


def _unit(seed: int, identity: str, attempt: int, salt: str) -> float:
    raw = f"{seed}\x00{identity}\x00{attempt}\x00{salt}".encode()
    digest = hashlib.blake2b(raw, digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2.0**64


@dataclass(frozen=True, slots=True)
class FaultConfig:
    latency_ms: float = 0.0
    timeout_rate: float = 0.0
    error_5xx_rate: float = 0.0
    esb_rate_limit_rate: float = 0.0
    gateway_429_rate: float = 0.0
    truncated_json_rate: float = 0.0
    non_json_rate: float = 0.0
    reset_rate: float = 0.0
    #: requests per second the server admits (fixed 1 s window); None: no limit
    rps_limit: float | None = None
    seed: int = 0
    #: how long a "timeout" request hangs before ESB gives up on it
    hang_s: float = DEFAULT_HANG_S
    #: X-Bkapi-RateLimit-Reset of a gateway 429 (seconds)
    gateway_reset_s: int = 1
    #: faults only hit attempts 1..N of an identity (None: every attempt may be hit)
    faulty_attempts: int | None = None

    def __post_init__(self) -> None:
        rates = self.rates()
        if any(not 0.0 <= r <= 1.0 for _, r in rates):
            raise ValueError("fault rates must be between 0 and 1")
        if sum(r for _, r in rates) > 1.0 + 1e-9:
            raise ValueError("fault rates must add up to at most 1")
        if self.rps_limit is not None and self.rps_limit < 1:
            raise ValueError("rps_limit must be >= 1")
        if self.latency_ms < 0 or self.hang_s < 0:
            raise ValueError("latency_ms and hang_s must be >= 0")

    def rates(self) -> tuple[tuple[FaultKind, float], ...]:
        by_kind: dict[FaultKind, float] = {
            "reset": self.reset_rate,
            "timeout": self.timeout_rate,
            "error_5xx": self.error_5xx_rate,
            "gateway_429": self.gateway_429_rate,
            "esb_rate_limit": self.esb_rate_limit_rate,
            "truncated_json": self.truncated_json_rate,
            "non_json": self.non_json_rate,
        }
        return tuple((k, by_kind[k]) for k in FAULT_KINDS)

    def decide(self, identity: str, attempt: int) -> FaultKind | None:
        """The fault of attempt ``attempt`` (1-based) of ``identity``, or None."""
        if self.faulty_attempts is not None and attempt > self.faulty_attempts:
            return None
        u = _unit(self.seed, identity, attempt, "kind")
        acc = 0.0
        for kind, rate in self.rates():
            acc += rate
            if u < acc:
                return kind
        return None

    def status_5xx(self, identity: str, attempt: int) -> int:
        return 502 if _unit(self.seed, identity, attempt, "5xx") < 0.5 else 503


class AttemptCounter:
    """How many times each request identity has been asked for (thread-safe)."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def next(self, identity: str) -> int:
        with self._lock:
            n = self._counts.get(identity, 0) + 1
            self._counts[identity] = n
            return n

    def get(self, identity: str) -> int:
        with self._lock:
            return self._counts.get(identity, 0)


class FixedWindowLimiter:
    """At most ``floor(limit)`` admissions per window of one ``clock`` second."""

    def __init__(self, limit: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = max(1, math.floor(limit))
        self._clock = clock
        self._window = -1
        self._used = 0
        self._lock = threading.Lock()

    def admit(self) -> bool:
        with self._lock:
            window = math.floor(self._clock())
            if window != self._window:
                self._window, self._used = window, 0
            if self._used >= self.limit:
                return False
            self._used += 1
            return True
