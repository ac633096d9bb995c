"""Discovery's pure parts: WHEN, windows within the 30-day limit, tolerant rows, the checks
a request passes before any call."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from pipeline.config import Settings, load_settings
from pipeline.discovery import MAX_WINDOW_MS, parse_row, parse_when, resolve_window, split_windows
from pipeline.errors import UsageError
from pipeline.ids import JobRef
from pipeline.intake import check_request

NOW = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("text", "want"),
    [
        ("1d", NOW - timedelta(days=1)),
        ("6h", NOW - timedelta(hours=6)),
        (" 30m ", NOW - timedelta(minutes=30)),
        ("2w", NOW - timedelta(weeks=2)),
        ("1.5h", NOW - timedelta(minutes=90)),
        ("2026-11-28T00:00", datetime(2026, 11, 27, 16, 0, tzinfo=UTC)),  # --api-timezone
        ("2026-11-28", datetime(2026, 11, 27, 16, 0, tzinfo=UTC)),
        ("2026-11-28T00:00:00+00:00", datetime(2026, 11, 28, tzinfo=UTC)),
        ("2026-11-28T00:00Z", datetime(2026, 11, 28, tzinfo=UTC)),
    ],
)
def test_when_is_iso_or_a_span_back_from_now(text: str, want: datetime) -> None:
    assert parse_when(text, NOW, SHANGHAI, "--since") == want


def test_a_bad_when_names_the_option_and_the_forms() -> None:
    with pytest.raises(UsageError, match=r"--until 'yesterday': expected ISO-8601"):
        parse_when("yesterday", NOW, SHANGHAI, "--until")


def test_window_checks() -> None:
    assert resolve_window("1d", None, NOW, SHANGHAI) == (NOW - timedelta(days=1), NOW)
    later = resolve_window("1d", "2030-01-01T00:00Z", NOW, SHANGHAI)
    assert later[1] == NOW  # never past now: new rows would shift a filling window's pages
    with pytest.raises(UsageError, match="in the future"):
        resolve_window("2026-12-01T00:00", None, NOW, SHANGHAI)
    with pytest.raises(UsageError, match="not after --since"):
        resolve_window("1d", "2d", NOW, SHANGHAI)
    with pytest.raises(UsageError, match="not after --since"):
        resolve_window("2026-11-28T00:00", "2026-11-28T00:00", NOW, SHANGHAI)


def test_a_long_span_is_split_not_refused() -> None:
    start = 1_700_000_000_000
    end = start + 75 * 86_400_000
    windows = split_windows(start, end)
    assert len(windows) == 3
    assert windows[0][0] == start and windows[-1][1] == end
    assert all(0 < hi - lo <= MAX_WINDOW_MS for lo, hi in windows)
    assert all(b[0] == a[1] + 1 for a, b in zip(windows, windows[1:], strict=False))


@hsettings(deadline=None)  # no timed asserts
@given(st.integers(1, 10**12), st.integers(1, 400 * 86_400_000), st.integers(1, 60))
def test_windows_cover_the_span_within_the_limit(start: int, span: int, parts: int) -> None:
    limit = max(2, span // parts)
    windows = split_windows(start, start + span, limit)
    assert windows[0][0] <= start and windows[-1][1] == start + span
    assert all(0 < hi - lo <= limit for lo, hi in windows)
    assert all(b[0] <= a[1] + 1 for a, b in zip(windows, windows[1:], strict=False))  # no gap


def test_rows_are_read_tolerantly() -> None:
    row = {"job_instance_id": 7, "operator": "ops", "name": "x", "create_time": 5, "status": 3}
    assert parse_row(row) == (7, {"operator": "ops", "name": "x", "create_time": 5})
    assert parse_row({"id": "8", "task_status": 3}) == (8, {})  # the docs' example names
    assert [parse_row(r) for r in (None, {}, {"id": 0}, {"job_instance_id": "x"}, [1])] == [
        None
    ] * 5


def settings(**values: object) -> Settings:
    return load_settings(values, {})


def test_requests_that_cannot_run_fail_before_any_call() -> None:
    with pytest.raises(UsageError, match="--since needs --biz"):
        check_request(settings(since="1d"), [], NOW)
    with pytest.raises(UsageError, match="--until needs --since"):
        check_request(settings(until="1d"), [JobRef(2, 1)], NOW)
    with pytest.raises(UsageError, match="nothing to fetch"):
        check_request(settings(), [], NOW)
    asked = check_request(settings(since="1d", biz="3,2,3"), [], NOW)
    assert asked.businesses == (3, 2) and asked.refresh and asked.probe_biz == 3
    assert check_request(settings(refresh_unfinished=True), [], NOW).window is None


def test_biz_and_when_from_a_config_file(tmp_path: Path) -> None:
    config = tmp_path / "bkjob.toml"
    config.write_text('biz = [2, 3]\nsince = 2026-11-27T00:00:00\napi = "esb-v3"\n')
    loaded = load_settings({}, {}, config)
    assert (loaded.biz, loaded.since, loaded.api) == ((2, 3), "2026-11-27T00:00:00", "esb-v3")
    config.write_text('biz = ["two"]\n')
    with pytest.raises(UsageError, match="expected business IDs"):
        load_settings({}, {}, config)
    config.write_text('api = "esb-v4"\n')
    with pytest.raises(UsageError, match="api must be one of auto, esb-v2, esb-v3, apigw"):
        load_settings({}, {}, config)
