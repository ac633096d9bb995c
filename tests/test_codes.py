from __future__ import annotations

import pytest

from pipeline import codes


@pytest.mark.parametrize(
    ("status", "outcome"),
    [
        (3, "success"),
        *[(s, "failed") for s in (4, 6, 9, 12)],
        *[(s, "running") for s in (2, 10)],
        *[(s, "pending") for s in (1, 7, 15)],
        *[(s, "skipped") for s in (5, 14)],
        *[(s, "stopped") for s in (8, 11, 13)],
        (0, "unknown"),
        (16, "unknown"),
        (None, "unknown"),
    ],
)
def test_step_outcome_follows_the_contract(status: int | None, outcome: str) -> None:
    assert codes.step_outcome(status) == outcome


FAILED_HOST = [0, 1, 2, 11, 12, 13, 15, 16, 17, 18, 101, 102, 103, 104, 202, 203, 301, 303]
FAILED_HOST += [310, 311, 312, 320, 321, 329, 399, 404, 500]


@pytest.mark.parametrize(
    ("code", "outcome"),
    [(3, "success"), (9, "success"), (7, "running"), (5, "pending"), (403, "stopped")]
    + [(c, "failed") for c in FAILED_HOST]
    + [(4, "unknown"), (14, "unknown"), (999, "unknown"), (None, "unknown")],
)
def test_host_outcome_follows_the_contract(code: int | None, outcome: str) -> None:
    assert codes.host_outcome(code) == outcome


def test_every_named_host_code_has_an_outcome_other_than_unknown() -> None:
    assert all(codes.host_outcome(c) != "unknown" for c in codes.HOST_RESULT_NAMES)


def test_names_and_unknown_codes() -> None:
    assert codes.step_status_name(6) == "Ignore Error"
    assert codes.step_status_name(12) == "Terminate Failed"
    assert codes.step_status_name(42) == "unknown(42)"
    assert codes.step_type_name(3) == "manual_confirm"
    assert codes.step_type_name(7) == "unknown(7)"
    assert codes.host_result_name(104) == "Non-zero Exit Code"
    assert codes.host_result_name(None) is None
