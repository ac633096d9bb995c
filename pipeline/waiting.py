"""``--wait-finished``: poll steps that were still running until they finish or the time
is up. The newest answer of each is what gets written; one still running at the deadline
is written as running."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Final

from pipeline.fetcher import Fetcher
from pipeline.flatten import Answer
from pipeline.ids import Ref

POLL_INITIAL_S: Final = 5.0
POLL_MAX_S: Final = 60.0


def is_unfinished(answer: Answer) -> bool:
    data = answer.data
    return isinstance(data, dict) and data.get("is_finished") is False


def wait_finished(
    fetcher: Fetcher,
    held: dict[Ref, Answer],
    budget_s: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    initial_s: float = POLL_INITIAL_S,
) -> Iterator[Answer]:
    deadline = clock() + budget_s
    interval = initial_s
    while held:
        remaining = deadline - clock()
        if remaining <= 0 or fetcher.pause(min(interval, remaining)):
            break
        for result in fetcher.fetch_all(list(held)):
            if result.answer is None:
                continue  # a failed poll keeps the previous answer
            held[result.ref] = result.answer
            if not is_unfinished(result.answer):
                yield held.pop(result.ref)
        interval = min(interval * 2, POLL_MAX_S)
    yield from held.values()
