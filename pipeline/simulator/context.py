"""What an endpoint function gets: the data, an answer cache, and the parsed call."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from .data import SimData
from .lru import LRU

#: encoded answers kept for repeat requests (retries, benchmarks); bounded by bytes
ANSWER_CACHE_BYTES = 128 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Call:
    params: Mapping[str, Any]
    #: 'en' or 'zh' (from Blueking-Language)
    lang: str = "en"


class EndpointContext:
    def __init__(
        self,
        data: SimData,
        cache_bytes: int = ANSWER_CACHE_BYTES,
        *,
        finish_after_polls: int | None = None,
    ) -> None:
        self.data = data
        self._answers: LRU[Hashable, bytes] = LRU(100_000, cache_bytes, len)
        self._memo: LRU[Hashable, object] = LRU(64)
        #: unfinished steps read as finished from answer N+1 on (None: the world is static)
        self.finish_after_polls = finish_after_polls
        self._polls: Counter[int] = Counter()
        self._polls_lock = threading.Lock()

    def poll_finishes(self, step_instance_id: int) -> bool:
        """Count an answer about an unfinished step; True once it has had its N polls."""
        if self.finish_after_polls is None:
            return False
        with self._polls_lock:
            self._polls[step_instance_id] += 1
            return self._polls[step_instance_id] > self.finish_after_polls

    def cached(self, key: Hashable, make: Callable[[], bytes]) -> bytes:
        """The encoded ``data`` for ``key``; answers are pure functions of the data."""
        return self._answers.get_or_make(key, make)

    def memo(self, key: Hashable, make: Callable[[], object]) -> object:
        """A small cache for intermediate results (e.g. the matches of a list query)."""
        return self._memo.get_or_make(key, make)


Endpoint = Callable[[EndpointContext, Call], bytes]
