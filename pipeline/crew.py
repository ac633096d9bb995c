"""An elastic crew of worker threads for the fetcher.

``size`` workers take items one at a time and queue their results. A worker that has to
wait while holding no slot (a backoff before a retry) says so with :meth:`Crew.waiting`,
and a helper takes its place meanwhile; whichever of them finishes an item first while
the crew is over strength leaves. Compared with a thread pool fed through a window, no
worker waits for the consumer to hand out the next item, and no slot passes to another
thread after every item: on a busy two-core machine each such hand-over is a wake-up
that the request pays for in latency.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


class _End:
    """A worker left."""


class _Failed:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc


class Crew(Generic[T, R]):
    def __init__(
        self, work: Callable[[T], R], items: Iterable[T], size: int, stopped: Callable[[], bool]
    ) -> None:
        self.size = size
        self._work = work
        self._items = iter(items)
        self._stopped = stopped
        self._lock = threading.Lock()
        self._results: queue.SimpleQueue[R | _End | _Failed] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._started = self._ended = self._waiting = 0
        self._exhausted = False

    def run(self) -> Iterator[R]:
        """Results in completion order, until every worker has left."""
        with self._lock:
            self._started = self.size
        for _ in range(self.size):
            self._thread()
        seen = 0
        while True:
            item = self._results.get()
            if isinstance(item, _Failed):
                raise item.exc
            if not isinstance(item, _End):
                yield item
                continue
            seen += 1
            with self._lock:
                if seen == self._started:
                    return

    def remaining(self) -> Iterator[T]:
        """Items no worker took (the run stopped); call after :meth:`run` ended."""
        return self._items

    def join(self) -> None:
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join()

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """A worker waits without its slot: a helper works meanwhile."""
        with self._lock:
            self._waiting += 1
            help_ = not self._exhausted and self._at_work() < self.size
            self._started += help_
        if help_:
            self._thread()
        try:
            yield
        finally:
            with self._lock:
                self._waiting -= 1

    def _at_work(self) -> int:
        return self._started - self._ended - self._waiting

    def _thread(self) -> None:
        thread = threading.Thread(target=self._loop, name="fetch", daemon=True)
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def _take(self) -> list[T]:
        """The next item, or none when they are all taken or the run is stopping."""
        with self._lock:
            if self._exhausted or self._stopped():
                return []
            for item in self._items:
                return [item]
            self._exhausted = True
            return []

    def _loop(self) -> None:
        left = False
        try:
            while not left and (taken := self._take()):
                self._results.put(self._work(taken[0]))
                with self._lock:
                    left = self._at_work() > self.size  # the helper's job is done
                    self._ended += left
        except BaseException as exc:  # a bug in the work: the consumer re-raises it
            self._results.put(_Failed(exc))
        finally:
            if not left:
                with self._lock:
                    self._ended += 1
            self._results.put(_End())
