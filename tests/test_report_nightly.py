"""The nightly report's latest day, failure causes and nights in a row, against pandas."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from pipeline.report import render_report
from pipeline.schema import TABLES
from tests.test_report_data import (
    Node,
    expected_headline,
    key_text,
    load_tables,
    make_dataset,
    parse_html,
    synthetic_rows,
    table_rows,
    write_table,
)


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("nightly"))


@pytest.fixture(scope="module")
def tables(dataset: Path) -> dict[str, pd.DataFrame]:
    return load_tables(dataset)


@pytest.fixture(scope="module")
def page(dataset: Path) -> Node:
    return parse_html(render_report(dataset).read_text(encoding="utf-8"))


def dv(cell: Node) -> float | None:
    raw = cell.attrs["data-value"]
    return None if raw == "" else float(raw)


CAUSES = {
    "agent down": {1, 12, 18, 310},
    "timeout": {13, 16, 17, 102, 303},
    "script non-zero exit": {15, 101, 104},
    "file transfer": {202, 203, 301, 320, 321, 329},
    "account/permission": {311, 312},
}


def one_day(t: dict[str, pd.DataFrame], day: str) -> dict[str, pd.DataFrame]:
    return {
        name: frame[frame.day.astype(str) == day]
        for name, frame in t.items()
        if name != "fetch_errors"
    }


def decided_days(steps: pd.DataFrame) -> list[str]:
    """Days with a step that succeeded or failed, newest first."""
    decided = steps[steps.outcome.isin(["success", "failed"])]
    return sorted(decided.day.astype(str).unique(), reverse=True)


def test_latest_day_against_the_previous_one(page: Node, tables: dict[str, pd.DataFrame]) -> None:
    days = decided_days(tables["steps"])
    latest, previous = one_day(tables, days[0]), one_day(tables, days[1])
    table = page.find("table", id="table-latest_day")
    assert [th.text for th in table.find("thead").find_all("th")][1:3] == [days[1], days[0]]
    for tr in table.find("tbody").find_all("tr"):
        name = tr.attrs["data-figure"]
        cells = {td.attrs["data-column"]: td for td in tr.find_all("td")}
        for column, frame in (("before", previous), ("after", latest)):
            want = expected_headline(frame) | {
                "steps_failed": int((frame["steps"].outcome == "failed").sum()),
                "hosts_failed": int((frame["step_hosts"].outcome == "failed").sum()),
            }
            assert dv(cells[column]) == want[name], (name, column)
    assert page.find("section", id="headline").find_all("table", id="table-latest_day")


def test_failure_causes_match_pandas(page: Node, tables: dict[str, pd.DataFrame]) -> None:
    failed = tables["step_hosts"][tables["step_hosts"].outcome == "failed"]
    label = {code: name for name, codes_ in CAUSES.items() for code in codes_}
    per_cause = failed.result_type.map(lambda c: label.get(int(c), "other")).value_counts()
    rows = page.find("table", id="table-host_failure_causes").find("tbody").find_all("tr")
    shown = {r.find(data_column="cause_label").text: r for r in rows}
    assert set(shown) == set(per_cause.index)
    for name, row in shown.items():
        assert int(row.find(data_column="host_rows").text) == per_cause[name]
        assert dv(row.find(data_column="share")) == per_cause[name] / len(failed)
    counts = [int(r.find(data_column="host_rows").text) for r in rows]
    assert counts == sorted(counts, reverse=True)


def expected_nights(t: dict[str, pd.DataFrame]) -> dict[tuple[int, str], tuple[int, int]]:
    """(failed nights, nights in a row up to the latest) per failing host."""
    nights = sorted(t["steps"].day.astype(str).unique(), reverse=True)
    hosts = t["step_hosts"]
    out = {}
    for key, g in hosts[hosts.outcome == "failed"].groupby(["bk_cloud_id", "ip"]):
        days = set(g.day.astype(str))
        streak = next((i for i, d in enumerate(nights) if d not in days), len(nights))
        out[(int(key[0]), str(key[1]))] = (len(days), streak)
    return out


def test_failing_hosts_nights_in_a_row(page: Node, tables: dict[str, pd.DataFrame]) -> None:
    nights = tables["steps"].day.nunique()
    want = expected_nights(tables)
    rows = table_rows(page.find("table", id="table-failing_hosts"))
    streaks = []
    for row in rows:
        failed, streak = want[(int(row["bk_cloud_id"].text), key_text(row["ip"]) or "")]
        assert row["failed_days"].text == f"{failed} of {nights}"
        assert int(row["streak_days"].text) == streak
        streaks.append(streak)
    assert max(streaks) >= 2  # the data has hosts that failed several nights running


def test_a_day_of_unstarted_steps_alone_is_not_the_latest_day(tmp_path: Path) -> None:
    rows = synthetic_rows(seed=4, jobs=20)
    pending = [dict(r, day="2099-01-01", outcome="pending", status=1) for r in rows["steps"][:3]]
    rows["steps"] = rows["steps"][3:] + pending
    for spec in TABLES.values():
        write_table(tmp_path, "parquet", spec, rows.get(spec.name, []))
    page = parse_html(render_report(tmp_path).read_text(encoding="utf-8"))
    table = page.find("table", id="table-latest_day")
    days = decided_days(pd.DataFrame(rows["steps"]))
    assert [th.text for th in table.find("thead").find_all("th")][1:3] == [days[1], days[0]]
    assert "2099-01-01" not in table.text


def test_one_day_has_no_comparison_and_no_nights(tmp_path: Path) -> None:
    rows = synthetic_rows(seed=4, jobs=20)
    day = rows["steps"][0]["day"]
    rows["steps"] = [r for r in rows["steps"] if r["day"] == day]
    rows["step_hosts"] = [r for r in rows["step_hosts"] if r["day"] == day]
    rows.pop("jobs", None)
    for spec in TABLES.values():
        write_table(tmp_path, "parquet", spec, rows.get(spec.name, []))
    page = parse_html(render_report(tmp_path).read_text(encoding="utf-8"))
    assert not page.find_all("table", id="table-latest_day")
    assert "no earlier day to compare with" in page.find("section", id="headline").text
    hosts = page.find("section", id="hosts")
    assert not hosts.find_all(data_column="streak_days")
    assert "nights in a row show from two nights on" in hosts.text
