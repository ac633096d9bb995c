"""The first Ctrl-C asks the run to stop at a whole point; the second stops it at once."""

from __future__ import annotations

import signal

import pytest

from pipeline.interrupts import deferred_sigint


def test_first_ctrl_c_is_noted_second_raises_and_the_handler_is_restored() -> None:
    before = signal.getsignal(signal.SIGINT)
    stops: list[bool] = []
    with pytest.raises(KeyboardInterrupt):
        with deferred_sigint(lambda: stops.append(True)) as interrupted:
            assert not interrupted()
            signal.raise_signal(signal.SIGINT)
            assert interrupted() and stops == [True]  # noted, nothing raised
            signal.raise_signal(signal.SIGINT)
    assert stops == [True]
    assert signal.getsignal(signal.SIGINT) is before
