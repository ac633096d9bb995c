"""What an endpoint function gets: the data, an answer cache, and the parsed call."""

from __future__ import annotations

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
    def __init__(self, data: SimData, cache_bytes: int = ANSWER_CACHE_BYTES) -> None:
        self.data = data
        self._answers: LRU[Hashable, bytes] = LRU(100_000, cache_bytes, len)
        self._memo: LRU[Hashable, object] = LRU(64)

    def cached(self, key: Hashable, make: Callable[[], bytes]) -> bytes:
        """The encoded ``data`` for ``key``; answers are pure functions of the data."""
        return self._answers.get_or_make(key, make)

    def memo(self, key: Hashable, make: Callable[[], object]) -> object:
        """A small cache for intermediate results (e.g. the matches of a list query)."""
        return self._memo.get_or_make(key, make)


Endpoint = Callable[[EndpointContext, Call], bytes]
