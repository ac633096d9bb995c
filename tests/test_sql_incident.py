"""sql/window.sql and sql/incident/*.sql: window boundaries, nights in a row, portability."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from pipeline import codes
from pipeline.report.dataset import views_sql
from pipeline.report.metrics import metric_files, query
from pipeline.report.window import make_window, window_sql
from tests.test_report_data import make_dataset
from tests.test_sql import NOT_PORTABLE, _code, open_views, step, steps_dataset


def test_incident_files_say_what_they_compute_and_are_portable() -> None:
    files = metric_files("incident")
    assert set(files) == {"compare", "compare_by_step_name", "timeline"}
    for name, sql in files.items():
        assert sql.startswith(f"-- {name}.sql - ") and "Columns:" in sql, name
        for pattern in NOT_PORTABLE:
            assert not re.search(pattern, _code(sql), re.IGNORECASE), (name, pattern)


def test_views_window_and_every_query_run_by_hand(tmp_path: Path) -> None:
    root = make_dataset(tmp_path, jobs=10)
    window = make_window("2026-11-28 09:00", "2026-11-28 21:00")
    assert window is not None
    text = window_sql(window)
    assert "${" not in text and "2026-11-28T01:00:00+00:00" in text
    con = duckdb.connect()
    con.execute(views_sql(root))
    con.execute(text)  # as a BI user would, after views.sql
    for sql in [*metric_files().values(), *metric_files("incident").values()]:
        assert isinstance(con.execute(sql).fetchall(), list)
    (head,) = query(con, metric_files()["headline"])
    (_, after) = query(con, metric_files("incident")["compare"])
    assert (head["steps"], head["hosts"]) == (after["steps"], after["hosts"])


def _at(hour: float) -> datetime:
    return datetime(2026, 11, 28, tzinfo=UTC) + timedelta(hours=hour)


def timed(
    sid: int, start: float | None, end: float | None, fetched: float = 30.0
) -> dict[str, Any]:
    row = step(sid, 3 if end is not None else 2)
    row.update(
        start_time=None if start is None else _at(start),
        end_time=None if end is None else _at(end),
        fetched_at=_at(fetched),
        is_finished=end is not None,
    )
    return row


def test_window_takes_the_steps_that_ran_during_it(tmp_path: Path) -> None:
    rows = [
        timed(1, 1.0, 2.0),  # before only
        timed(2, 9.0, 10.0),  # ended exactly at since: in the window (and before)
        timed(3, 9.0, 12.0),  # across since: both spans
        timed(4, 11.0, None, fetched=11.5),  # still running when fetched: the window
        timed(5, 9.5, None, fetched=9.8),  # running when fetched before since: before only
        timed(6, 14.0, 15.0),  # starts exactly at until: in neither
        timed(7, None, None),  # never started: in neither
    ]
    con = open_views(steps_dataset(tmp_path, rows))
    window = make_window(_at(10), _at(14), api_timezone="UTC")
    assert window is not None
    con.execute(window_sql(window))  # the whole script at once
    ids = {
        span: sorted(
            r[0] for r in con.execute(f"SELECT step_instance_id FROM {span}_steps").fetchall()
        )
        for span in ("window", "before")
    }
    assert ids == {"window": [2, 3, 4], "before": [2, 3, 5]}
    assert con.execute("SELECT COUNT(*) FROM steps").fetchone() == (3,)


def test_nights_in_a_row(tmp_path: Path) -> None:
    days = ["2026-11-20", "2026-11-24", "2026-11-25", "2026-11-26"]  # a gap of days without data
    steps, hosts = [], []
    plan = {  # host -> the days it failed (it succeeds on the other days)
        "10.0.0.1": {"2026-11-20", "2026-11-24", "2026-11-25", "2026-11-26"},
        "10.0.0.2": {"2026-11-25", "2026-11-26"},
        "10.0.0.3": {"2026-11-20", "2026-11-24", "2026-11-26"},
        "10.0.0.4": {"2026-11-24", "2026-11-25"},
    }
    for i, day in enumerate(days):
        row = step(100 + i, 4)
        row["day"] = day
        steps.append(row)
        for ip, bad in plan.items():
            code = 104 if day in bad else 9
            host = {"bk_cloud_id": 0, "ip": ip, "result_type": code, "result_type_text": "x"}
            host |= {"outcome": codes.host_outcome(code), "run_id": "r", "day": day}
            hosts.append({k: row[k] for k in ("bk_biz_id", "job_instance_id", "step_instance_id")}
                         | host)  # fmt: skip
    con = open_views(steps_dataset(tmp_path, steps, hosts))
    got = {r["ip"]: (r["failed_days"], r["streak_days"], r["days_in_data"])
           for r in query(con, metric_files()["failing_hosts"])}  # fmt: skip
    assert got == {
        "10.0.0.1": (4, 4, 4),
        "10.0.0.2": (2, 2, 4),
        "10.0.0.3": (3, 1, 4),
        "10.0.0.4": (2, 0, 4),
    }


def test_docs_list_every_incident_file() -> None:
    docs = (Path(__file__).resolve().parent.parent / "docs" / "report.md").read_text()
    for name in metric_files("incident"):
        assert f"`incident/{name}.sql`" in docs, name
    assert "`window.sql`" in docs
