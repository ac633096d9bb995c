"""Ctrl-C that stops a run at a whole point.

A KeyboardInterrupt can land anywhere, also between writing a batch's steps and noting
them done: a checkpoint taken then names rows whose IDs ``--resume`` fetches again, and
the resumed dataset has them twice. Inside :func:`deferred_sigint` the first Ctrl-C only
asks the run to stop (no new requests; the ones in flight end) and is noted; the run
then checkpoints between batches. A second Ctrl-C raises KeyboardInterrupt at once, and
the last checkpoint is what ``--resume`` continues from.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType


@contextmanager
def deferred_sigint(on_interrupt: Callable[[], None]) -> Iterator[Callable[[], bool]]:
    """Yields ``interrupted()``; ``on_interrupt`` runs at the first Ctrl-C. Outside the
    main thread (no signal handlers there) nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return
    hit = threading.Event()

    def handler(signum: int, frame: FrameType | None) -> None:
        if hit.is_set():
            raise KeyboardInterrupt
        hit.set()
        on_interrupt()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield hit.is_set
    finally:
        signal.signal(signal.SIGINT, previous)
