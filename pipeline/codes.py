"""bk-job enumerations and the one-word outcome every report and query agrees on.

Names come from the API reference section 6 (English i18n strings of bk-job).
Unknown codes are kept and named ``unknown(<code>)``: deployments add codes.
"""

from __future__ import annotations

from typing import Final

STEP_STATUS_NAMES: Final[dict[int, str]] = {
    1: "Pending",
    2: "Running",
    3: "Success",
    4: "Failed",
    5: "Skipped",
    6: "Ignore Error",
    7: "Waiting",
    8: "Terminated",
    9: "Abnormal",
    10: "Terminating",
    11: "Terminate Success",
    12: "Terminate Failed",
    13: "Termination Confirmed",
    14: "Abandoned",
    15: "Rolling Waiting",
}

#: statuses bk-job counts as finished (``is_finished``); 12 exists only in 2.x docs.
FINISHED_STATUSES: Final[frozenset[int]] = frozenset({3, 4, 5, 6, 8, 9, 11, 12, 13, 14})

STEP_TYPE_NAMES: Final[dict[int, str]] = {1: "script", 2: "file", 3: "manual_confirm", 4: "sql"}

HOST_RESULT_NAMES: Final[dict[int, str]] = {
    0: "Unknown Error",
    1: "Abnormal Agent",
    2: "Invalid Execute Object",
    3: "Successful Last Time",
    5: "Waiting",
    7: "Running",
    9: "Success",
    11: "Failed",
    12: "Task send failed",
    13: "Task Timeout",
    15: "Error in Log",
    16: "Script Log Timeout",
    17: "File Log Timeout",
    18: "Agent not installed",
    101: "Script Execution Failed",
    102: "Script Execution Timeout",
    103: "Script Execution Terminated",
    104: "Non-zero Exit Code",
    202: "File Transmission Failed",
    203: "Source File Not Exists",
    301: "Unclassified File Failure",
    303: "File Transmission Timeout",
    310: "Abnormal Agent",
    311: "User not exist",
    312: "User password incorrect",
    320: "File pull failed",
    321: "File size exceeds limit",
    329: "File Transmission Error",
    399: "Execution Error",
    403: "Force Terminated",
    404: "Force Terminate Failed",
    500: "Unknown",
}

OUTCOMES: Final[tuple[str, ...]] = (
    "success",
    "failed",
    "running",
    "pending",
    "skipped",
    "stopped",
    "unknown",
)

_STEP_OUTCOME: Final[dict[int, str]] = {
    3: "success",
    **dict.fromkeys((4, 6, 9, 12), "failed"),
    **dict.fromkeys((2, 10), "running"),
    **dict.fromkeys((1, 7, 15), "pending"),
    **dict.fromkeys((5, 14), "skipped"),
    **dict.fromkeys((8, 11, 13), "stopped"),
}

_HOST_FAILED: Final[tuple[int, ...]] = (
    0, 1, 2, 11, 12, 13, 15, 16, 17, 18, 101, 102, 103, 104, 202, 203,
    301, 303, 310, 311, 312, 320, 321, 329, 399, 404, 500,
)  # fmt: skip

_HOST_OUTCOME: Final[dict[int, str]] = {
    **dict.fromkeys((3, 9), "success"),
    **dict.fromkeys(_HOST_FAILED, "failed"),
    7: "running",
    5: "pending",
    403: "stopped",
}


def _named(table: dict[int, str], code: int | None) -> str | None:
    if code is None:
        return None
    return table.get(code, f"unknown({code})")


def step_status_name(code: int | None) -> str | None:
    return _named(STEP_STATUS_NAMES, code)


def step_type_name(code: int | None) -> str | None:
    return _named(STEP_TYPE_NAMES, code)


def host_result_name(code: int | None) -> str | None:
    return _named(HOST_RESULT_NAMES, code)


def step_outcome(status: int | None) -> str:
    return "unknown" if status is None else _STEP_OUTCOME.get(status, "unknown")


def host_outcome(result_type: int | None) -> str:
    return "unknown" if result_type is None else _HOST_OUTCOME.get(result_type, "unknown")
