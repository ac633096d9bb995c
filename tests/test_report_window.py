"""The incident view's options: --since/--until/--biz/--job/--api-timezone, in the library
and on the command line."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pipeline.cli import main
from pipeline.errors import UsageError
from pipeline.report import render_report
from pipeline.report.window import make_window
from tests.test_report_data import make_dataset, parse_html
from tests.test_report_incident import SINCE, UNTIL, W_SINCE


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("window"), jobs=20)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            {"since": SINCE, "until": "2026-11-28 08:00"},
            "--until (2026-11-28 08:00:00+08:00) is not after",
        ),
        ({"since": "yesterday"}, "--since: 'yesterday' is not an ISO-8601 time"),
        ({"since": SINCE, "until": "2026-13-01"}, "--until: '2026-13-01' is not an ISO-8601"),
        ({"until": UNTIL}, "--until needs --since"),
        ({"biz": 2}, "--biz needs --since"),
        ({"since": SINCE, "biz": "2,x"}, "--biz: 'x' is not a positive integer ID"),
        ({"since": SINCE, "job": [0]}, "--job: 0 is not a positive integer ID"),
        ({"since": SINCE, "api_timezone": "Mars/Olympus"}, "unknown time zone 'Mars/Olympus'"),
    ],
)
def test_bad_options_are_one_line_usage_errors(
    dataset: Path, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(UsageError) as caught:
        render_report(dataset, **options)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_times_with_an_offset_and_spans(dataset: Path, tmp_path: Path) -> None:
    out = render_report(dataset, tmp_path / "z.html", since="2026-11-28T01:00:00Z",
                        until="2026-11-28T13:00:00+00:00", api_timezone="UTC")  # fmt: skip
    window = parse_html(out.read_text(encoding="utf-8")).find("p", id="window")
    assert window.attrs["data-since"] == W_SINCE.isoformat()
    assert "2026-11-28 01:00:00 +00:00" in window.text


def test_spans_count_back_from_now() -> None:
    now = datetime(2026, 11, 30, 12, tzinfo=UTC)
    window = make_window("6h", None, now=now)
    assert window is not None and (window.since, window.until) == (now - timedelta(hours=6), now)
    window = make_window("2d", "30m", biz="3, 2,3", now=now)
    assert window is not None and window.since == now - timedelta(days=2)
    assert window.until == now - timedelta(minutes=30) and window.biz == (2, 3)
    assert window.before == now - timedelta(days=4, minutes=-30)
    assert window.filter_sql == "bk_biz_id IN (2, 3)"
    assert make_window(None, None) is None


def test_cli_report_incident(
    dataset: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "cli.html"
    main(["report", str(dataset), "--since", SINCE, "--until", UNTIL, "--biz", "2,3",
          "--api-timezone", "Asia/Shanghai", "--title", "Deploy outage",
          "--html", str(target)])  # fmt: skip
    assert capsys.readouterr().out == f"report: {target}\n"
    assert parse_html(target.read_text(encoding="utf-8")).find("h1").text == "Deploy outage"
    with pytest.raises(SystemExit) as info:
        main(["report", str(dataset), "--since", UNTIL, "--until", SINCE])
    err = capsys.readouterr().err
    assert info.value.code == 2 and err.count("\n") == 1
    assert err.startswith("bkjob-export: error: --until (2026-11-28 09:00:00+08:00) is not after")
