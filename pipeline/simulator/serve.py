"""``serve_fake_api``: the blocking helper behind ``bkjob-export fake-api``."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import datetime
from types import FrameType
from typing import TextIO

from .data import SimData
from .faults import FaultConfig
from .server import Simulator

_Handler = Callable[[int, FrameType | None], object] | int | None


def serve_fake_api(
    *,
    seed: int = 7,
    jobs: int = 200,
    host: str = "127.0.0.1",
    port: int = 0,
    app_code: str | None = None,
    app_secret: str | None = None,
    ids_out: str | os.PathLike[str] | None = None,
    job3: bool = False,
    faults: FaultConfig | None = None,
    latency_ms: float = 0.0,
    now: datetime | None = None,
    out: TextIO | None = None,
    stop: threading.Event | None = None,
    deny_biz: Iterable[int] = (),
    finish_after_polls: int | None = None,
) -> None:
    """Serve until SIGINT/SIGTERM (or until ``stop`` is set, for embedding and tests).

    The first line on ``out`` (stdout) is the base URL, flushed at once so a parent process
    can read it; with ``ids_out`` the ``--ids`` CSV of the data is written before that.
    ``latency_ms`` overrides ``faults.latency_ms`` (a CLI convenience). ``deny_biz`` and
    ``finish_after_polls`` are passed to :class:`Simulator`.
    """
    out = out or sys.stdout
    faults = faults or FaultConfig()
    if latency_ms:
        faults = replace(faults, latency_ms=latency_ms)
    stop = stop or threading.Event()
    data = SimData(seed=seed, jobs=jobs, job3=job3, now=now)
    if ids_out is not None:
        data.write_ids_csv(ids_out)
    sim = Simulator(data, host, port, app_code, app_secret, faults,
                    deny_biz=deny_biz, finish_after_polls=finish_after_polls)  # fmt: skip
    with sim:
        previous = _install_handlers(stop)
        try:
            print(sim.base_url, file=out, flush=True)
            while not stop.wait(0.5):
                pass
        finally:
            _restore_handlers(previous)


def _install_handlers(stop: threading.Event) -> dict[int, _Handler]:
    """Signal handlers can only be set from the main thread; elsewhere ``stop`` rules."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous: dict[int, _Handler] = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        previous[sig] = signal.signal(sig, lambda _s, _f: stop.set())
    return previous


def _restore_handlers(previous: dict[int, _Handler]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)
