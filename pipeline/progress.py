"""Progress of a run: a live bar on a terminal (rich), periodic log lines otherwise."""

from __future__ import annotations

import time
from types import TracebackType
from typing import Protocol

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from pipeline.logs import log

LOG_EVERY_S = 30.0


class Tracker(Protocol):
    def update(self, *, done: int, failed: int, retrying: int) -> None: ...
    def __enter__(self) -> Tracker: ...
    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class BarTracker:
    """A terminal bar: done / failed / retrying, rate and ETA."""

    def __init__(self, total: int) -> None:
        self._progress = Progress(
            TextColumn("[bold]fetch"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[failed]} failed, {task.fields[retrying]} retries"),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            transient=False,
        )
        self._task: TaskID = self._progress.add_task(
            "fetch", total=total, failed=0, retrying=0, rate=""
        )
        self._start = time.monotonic()

    def update(self, *, done: int, failed: int, retrying: int) -> None:
        elapsed = max(time.monotonic() - self._start, 1e-9)
        rate = f"{done / elapsed:.1f}/s"
        self._progress.update(
            self._task, completed=done, failed=failed, retrying=retrying, rate=rate
        )

    def __enter__(self) -> BarTracker:
        self._progress.start()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._progress.stop()


class LogTracker:
    """No terminal (cron): a log line every LOG_EVERY_S seconds."""

    def __init__(self, total: int) -> None:
        self.total = total
        self._start = self._last = time.monotonic()

    def update(self, *, done: int, failed: int, retrying: int) -> None:
        now = time.monotonic()
        if now - self._last < LOG_EVERY_S:
            return
        self._last = now
        rate = done / max(now - self._start, 1e-9)
        log.info(
            "progress %d/%d done, %d failed, %d retries, %.1f/s",
            done, self.total, failed, retrying, rate,
            extra={"event": "progress", "done": done, "total": self.total,
                   "failed": failed, "retries": retrying, "rate": round(rate, 2)},
        )  # fmt: skip

    def __enter__(self) -> LogTracker:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None


def tracker(total: int, *, interactive: bool) -> Tracker:
    return BarTracker(total) if interactive else LogTracker(total)
