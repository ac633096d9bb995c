"""Where job number ``i`` lives: its IDs, business and create time, all O(1) from (seed, i).

Nothing here materialises a job, so ``jobs=100_000`` costs nothing up front and an ID
can be mapped back to its job index without a lookup table.
"""

from __future__ import annotations

import bisect
from typing import Final

from .catalog import BUSINESSES, Business

MASK64: Final = (1 << 64) - 1
#: steps per job are capped at this many ID slots
STEP_SLOTS: Final = 8
#: gaps between job IDs are 1..JOB_STRIDE: other tenants' jobs take the IDs in between
JOB_STRIDE: Final = 4
#: the newest jobs are packed into this span before ``now`` so some are still running
TAIL_SPAN_MS: Final = 15 * 60 * 1000
TAIL_END_MS: Final = 30 * 1000


def mix64(*parts: int) -> int:
    """A splitmix64-style hash: cheap, stable across runs and platforms."""
    h = 0x9E3779B97F4A7C15
    for p in parts:
        h = (h ^ (p & MASK64)) & MASK64
        h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & MASK64
        h ^= h >> 31
    return h


def unit(*parts: int) -> float:
    """A uniform float in [0, 1) from the hash of ``parts``."""
    return (mix64(*parts) >> 11) / float(1 << 53)


class Layout:
    def __init__(self, seed: int, jobs: int, now_ms: int, window_ms: int) -> None:
        if jobs < 0:
            raise ValueError("jobs must be >= 0")
        if window_ms <= TAIL_SPAN_MS * 2:
            raise ValueError("the time window must be longer than 30 minutes")
        self.seed = seed
        self.jobs = jobs
        self.now_ms = now_ms
        self.window_ms = window_ms
        # 11-digit IDs above 2**31, as on a busy bk-job (bug #2449 shows such IDs)
        self.job_base = 20_000_000_000 + (seed % 89) * 100_000_000
        self.step_base = 40_000_000_000 + (seed % 89) * 200_000_000
        self.tail = min(jobs, max(3, jobs // 40))
        cum = 0.0
        self._biz_cum: list[float] = []
        for b in BUSINESSES:
            cum += b.weight
            self._biz_cum.append(cum / sum(x.weight for x in BUSINESSES))

    # -- IDs ------------------------------------------------------------------------------
    def job_instance_id(self, i: int) -> int:
        return self.job_base + i * JOB_STRIDE + mix64(self.seed, i, 11) % JOB_STRIDE

    def job_index(self, job_instance_id: int) -> int | None:
        i = (job_instance_id - self.job_base) // JOB_STRIDE
        if 0 <= i < self.jobs and self.job_instance_id(i) == job_instance_id:
            return i
        return None

    def step_instance_id(self, i: int, k: int) -> int:
        return self.step_base + i * STEP_SLOTS + k

    def step_slot(self, step_instance_id: int) -> tuple[int, int] | None:
        """(job index, step position) an ID would belong to; the caller checks the position."""
        i, k = divmod(step_instance_id - self.step_base, STEP_SLOTS)
        if 0 <= i < self.jobs:
            return i, k
        return None

    # -- business and time ----------------------------------------------------------------
    def business_index(self, i: int) -> int:
        return bisect.bisect_right(self._biz_cum, unit(self.seed, i, 13))

    def business(self, i: int) -> Business:
        return BUSINESSES[min(self.business_index(i), len(BUSINESSES) - 1)]

    def is_recent(self, i: int) -> bool:
        return i >= self.jobs - self.tail

    def create_ms(self, i: int) -> int:
        """Create times rise strictly with ``i`` (as IDs do): a list sorted by time is by ID."""
        u = unit(self.seed, i, 17)
        body = self.jobs - self.tail
        if i < body:
            span = self.window_ms - TAIL_SPAN_MS
            return self.now_ms - self.window_ms + int((i + u) / body * span)
        j = i - body
        span = TAIL_SPAN_MS - TAIL_END_MS
        return self.now_ms - TAIL_SPAN_MS + int((j + u) / self.tail * span)

    def first_index_at_or_after(self, t_ms: int) -> int:
        """Smallest job index whose create time is >= t_ms (``jobs`` if none)."""
        lo, hi = 0, self.jobs
        while lo < hi:
            mid = (lo + hi) // 2
            if self.create_ms(mid) < t_ms:
                lo = mid + 1
            else:
                hi = mid
        return lo
