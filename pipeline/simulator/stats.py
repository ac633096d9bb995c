"""Request counters per path and outcome, for tests and benchmarks ("how many calls?").

Outcomes: ``ok``; ``error:<code>`` (an ESB/bk-job ``result: false``); ``fault:<kind>``
(an injected fault, see ``faults.py``); ``rps_limited`` (the server's own limiter).
"""

from __future__ import annotations

import threading
from collections import Counter


class SimStats:
    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str]] = Counter()
        self._lock = threading.Lock()

    def record(self, path: str, outcome: str) -> None:
        with self._lock:
            self._counts[(path, outcome)] += 1

    def count(self, path: str | None = None, outcome: str | None = None) -> int:
        """Requests matching ``path`` and ``outcome``; ``path`` may be the full path or its
        tail (``"get_step_instance_status"``, ``"jobv3/get_job_instance_status"``)."""
        with self._lock:
            items = list(self._counts.items())
        return sum(
            n
            for (p, o), n in items
            if (path is None or _path_matches(p, path)) and (outcome is None or o == outcome)
        )

    def total(self) -> int:
        return self.count()

    def by_outcome(self) -> dict[str, int]:
        out: Counter[str] = Counter()
        with self._lock:
            for (_, o), n in self._counts.items():
                out[o] += n
        return dict(out)

    def snapshot(self) -> dict[str, dict[str, int]]:
        """``{path: {outcome: count}}``."""
        out: dict[str, dict[str, int]] = {}
        with self._lock:
            for (p, o), n in sorted(self._counts.items()):
                out.setdefault(p, {})[o] = n
        return out

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()


def _path_matches(recorded: str, wanted: str) -> bool:
    if recorded == wanted:
        return True
    return recorded.rstrip("/").endswith("/" + wanted.strip("/"))
