"""A small thread-safe LRU bounded by item count and, optionally, by total weight (bytes)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class LRU(Generic[K, V]):
    def __init__(
        self,
        max_items: int,
        max_weight: int | None = None,
        weigh: Callable[[V], int] | None = None,
    ) -> None:
        self._items: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._max_items = max(1, max_items)
        self._max_weight = max_weight
        self._weigh = weigh
        self._weight = 0
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        with self._lock:
            hit = self._items.get(key)
            if hit is None:
                return None
            self._items.move_to_end(key)
            return hit[0]

    def put(self, key: K, value: V) -> V:
        w = self._weigh(value) if self._weigh else 0
        if self._max_weight is not None and w > self._max_weight:
            return value  # too big to keep: serve it, do not evict everything else for it
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._weight -= old[1]
            self._items[key] = (value, w)
            self._weight += w
            while len(self._items) > self._max_items or (
                self._max_weight is not None and self._weight > self._max_weight
            ):
                _, (_, dropped) = self._items.popitem(last=False)
                self._weight -= dropped
        return value

    def get_or_make(self, key: K, make: Callable[[], V]) -> V:
        """Cached value, else ``make()`` outside the lock (two threads may both make it)."""
        hit = self.get(key)
        return hit if hit is not None else self.put(key, make())

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)
