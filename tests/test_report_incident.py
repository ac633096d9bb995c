"""The incident view, checked by structure: its sections, in order, and their rows against a
pandas computation of the same window (never a byte comparison)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from pipeline.report import render_report
from pipeline.schema import TABLES
from tests.test_report_data import (
    SCRIPT_NAME,
    Node,
    expected_headline,
    key_text,
    load_tables,
    make_dataset,
    parse_html,
    rate,
    synthetic_rows,
    table_rows,
    write_table,
)

#: 2026-11-28 01:00 to 13:00 UTC; the span before: 2026-11-27 13:00 to 2026-11-28 01:00 UTC
SINCE, UNTIL = "2026-11-28 09:00", "2026-11-28 21:00"
W_SINCE, W_UNTIL = datetime(2026, 11, 28, 1, tzinfo=UTC), datetime(2026, 11, 28, 13, tzinfo=UTC)
B_SINCE = datetime(2026, 11, 27, 13, tzinfo=UTC)
SECTIONS = ["headline", "timeline", "compare", "causes", "failed-steps", "hosts", "fetch-errors"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_dataset(tmp_path_factory.mktemp("incident"))


@pytest.fixture(scope="module")
def tables(dataset: Path) -> dict[str, pd.DataFrame]:
    return load_tables(dataset)


@pytest.fixture(scope="module")
def page(dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Node:
    html = tmp_path_factory.mktemp("out") / "incident.html"
    render_report(dataset, html, since=SINCE, until=UNTIL, api_timezone="Asia/Shanghai")
    return parse_html(html.read_text(encoding="utf-8"))


# --- the pandas oracle of sql/window.sql --------------------------------------------------


def in_span(t: dict[str, pd.DataFrame], a: datetime, b: datetime) -> dict[str, pd.DataFrame]:
    """The steps that ran during [a, b) and their host rows."""
    s = t["steps"]
    end = s.end_time.fillna(s.fetched_at).fillna(s.start_time)
    steps = s[s.start_time.notna() & (s.start_time < b) & (end >= a)]
    hosts = t["step_hosts"][t["step_hosts"].step_instance_id.isin(steps.step_instance_id)]
    return {"steps": steps, "step_hosts": hosts}


def figures(span: dict[str, pd.DataFrame]) -> dict[str, Any]:
    head = expected_headline(span)
    head["steps_failed"] = int((span["steps"].outcome == "failed").sum())
    head["hosts_failed"] = int((span["step_hosts"].outcome == "failed").sum())
    return head


def number(cell: Node) -> float | None:
    raw = cell.attrs["data-value"]
    return None if raw == "" else float(raw)


# --- structure ----------------------------------------------------------------------------


def test_sections_in_order(page: Node) -> None:
    ids = [s.attrs["id"] for s in page.find("main").find_all("section")]
    assert ids == SECTIONS
    window = page.find("p", id="window")
    assert window.attrs["data-since"] == W_SINCE.isoformat()
    assert window.attrs["data-until"] == W_UNTIL.isoformat()
    assert "2026-11-28 09:00:00 +08:00 to 2026-11-28 21:00:00 +08:00" in window.text
    assert page.find("h1").text == "Incident 2026-11-28 09:00 to 21:00 (+08:00)"
    assert [s.attrs["id"] for s in page.find("footer").find_all("section")] == [
        "definitions",
        "run",
    ]


def test_headline_is_the_window(page: Node, tables: dict[str, pd.DataFrame]) -> None:
    want = figures(in_span(tables, W_SINCE, W_UNTIL))
    assert want["steps"] > 10  # the window is not trivially empty
    for name in ("jobs", "steps", "hosts", "step_failure_rate", "host_failure_rate"):
        (cell,) = page.find_all(data_metric=name)
        assert number(cell) == want[name], name


def test_comparison_with_the_span_before(page: Node, tables: dict[str, pd.DataFrame]) -> None:
    before = figures(in_span(tables, B_SINCE, W_SINCE))
    after = figures(in_span(tables, W_SINCE, W_UNTIL))
    rows = {tr.attrs["data-figure"]: tr for tr in page.find("table", id="table-compare").iter()
            if "data-figure" in tr.attrs}  # fmt: skip
    assert list(rows) == [
        "jobs", "steps", "hosts", "steps_failed", "hosts_failed",
        "step_failure_rate", "host_failure_rate",
    ]  # fmt: skip
    for name, tr in rows.items():
        cells = {td.attrs["data-column"]: td for td in tr.find_all("td")}
        assert number(cells["before"]) == before[name], name
        assert number(cells["after"]) == after[name], name
        assert number(cells["change"]) == pytest.approx(after[name] - before[name]), name


def test_timeline_lanes_are_the_window_jobs(page: Node, tables: dict[str, pd.DataFrame]) -> None:
    steps = in_span(tables, W_SINCE, W_UNTIL)["steps"]
    jobs = (
        steps.assign(failed=steps.outcome == "failed")
        .groupby(["bk_biz_id", "job_instance_id"])
        .agg(n=("step_instance_id", "size"), failed=("failed", "sum"), start=("start_time", "min"))
        .reset_index()
        .sort_values(["start", "bk_biz_id", "job_instance_id"])
    )
    rows = table_rows(page.find("table", id="table-timeline_jobs"))
    assert len(jobs) <= 40 and len(rows) == len(jobs)
    assert [int(r["job_instance_id"].text) for r in rows] == list(jobs.job_instance_id)
    assert [int(r["job_steps"].text) for r in rows] == list(jobs.n)
    assert [int(r["job_steps_failed"].text) for r in rows] == list(jobs.failed)
    svg = page.find("figure", id="chart-timeline").find("svg")
    labels = [t.text for t in svg.find_all("text")]
    for job in jobs.job_instance_id:
        assert any(f":{job}  " in label for label in labels), job


def test_failed_steps_and_their_hosts(page: Node, tables: dict[str, pd.DataFrame]) -> None:
    span = in_span(tables, W_SINCE, W_UNTIL)
    failed = span["steps"][span["steps"].outcome == "failed"].sort_values(
        ["start_time", "step_instance_id"], ascending=False
    )
    blocks = page.find("section", id="failed-steps").find_all("div", **{"class": "failed-step"})
    assert [int(b.attrs["data-step-instance-id"]) for b in blocks] == list(failed.step_instance_id)
    hosts = span["step_hosts"]
    for block in blocks:
        sid = int(block.attrs["data-step-instance-id"])
        bad = hosts[(hosts.step_instance_id == sid) & (hosts.outcome == "failed")]
        tables_ = block.find_all("table")
        shown = (
            [tr.find_all("td") for tr in tables_[0].find("tbody").find_all("tr")] if tables_ else []
        )
        assert (
            sorted((td[1].text, td[3].text) for td in shown)
            == sorted(zip(bad.ip, bad.result_type_text, strict=True))[: len(shown)]
        )
        assert len(shown) == min(len(bad), 20)


def test_causes_and_failing_hosts_are_the_window(
    page: Node, tables: dict[str, pd.DataFrame]
) -> None:
    hosts = in_span(tables, W_SINCE, W_UNTIL)["step_hosts"]
    failed = hosts[hosts.outcome == "failed"]
    rows = page.find("table", id="table-host_failure_causes").find("tbody").find_all("tr")
    assert sum(int(r.find(data_column="host_rows").text) for r in rows) == len(failed)
    per_host = failed.groupby(["bk_cloud_id", "ip"]).size()
    shown = table_rows(page.find("section", id="hosts").find("table"))
    assert len(shown) == min(50, len(per_host))
    assert int(shown[0]["hosts_failed"].text) == per_host.max()


def test_failures_by_step_name_against_the_span_before(
    page: Node, tables: dict[str, pd.DataFrame]
) -> None:
    after = in_span(tables, W_SINCE, W_UNTIL)["steps"]
    before = in_span(tables, B_SINCE, W_SINCE)["steps"]
    rows = table_rows(page.find("table", id="table-compare_by_step_name"))
    assert rows
    for row in rows:
        name = key_text(row["key"])
        a, b = after[after.name == name], before[before.name == name]
        assert int(row["steps"].text) == len(a)
        assert int(row["steps_failed"].text) == (a.outcome == "failed").sum()
        assert int(row["before_steps_failed"].text) == (b.outcome == "failed").sum()
        want = rate(int((a.outcome == "failed").sum()), int((a.outcome == "success").sum()))
        assert number(row["step_failure_rate"]) == want


# --- filters, caps, empty windows ---------------------------------------------------------


def test_business_and_job_filters(
    dataset: Path, tables: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    span = in_span(tables, W_SINCE, W_UNTIL)["steps"]
    job = int(span.job_instance_id.iloc[0])
    biz = int(span.bk_biz_id.iloc[0])
    out = render_report(dataset, tmp_path / "f.html", since=SINCE, until=UNTIL, biz=biz, job=[job])
    page = parse_html(out.read_text(encoding="utf-8"))
    assert number(page.find(data_metric="jobs")) == 1
    assert number(page.find(data_metric="steps")) == (span.job_instance_id == job).sum()
    assert f"business {biz}; job {job}" in page.find("h1").text
    assert render_report(dataset, since=SINCE, until=UNTIL).name == (
        "incident-20261128T0900-20261128T2100.html"
    )


def test_an_empty_window_says_so(dataset: Path, tmp_path: Path) -> None:
    out = render_report(dataset, tmp_path / "e.html", since="2030-01-01", until="2030-01-02")
    page = parse_html(out.read_text(encoding="utf-8"))
    assert "No data: no step ran in this window" in page.find("section", id="no-data").text
    assert page.find(data_metric="steps").attrs["data-value"] == "0"
    assert page.find(data_metric="step_failure_rate").attrs["data-value"] == ""
    assert not page.find_all("svg") and page.find("table", id="table-compare")


def test_lanes_are_capped_with_the_total(tmp_path: Path) -> None:
    rows = synthetic_rows(seed=11, jobs=120)
    for spec in TABLES.values():
        write_table(tmp_path, "parquet", spec, rows.get(spec.name, []))
    out = render_report(tmp_path, since="2026-11-27", until="2026-12-01")
    page = parse_html(out.read_text(encoding="utf-8"))
    started = {r["job_instance_id"] for r in rows["steps"] if r["start_time"] is not None}
    assert len(table_rows(page.find("table", id="table-timeline_jobs"))) == 40
    notes = [p.text for p in page.find_all("p", **{"class": "capped"})]
    assert f"Showing 40 of {len(started)} jobs: those with most failed steps first." in notes


def test_hostile_texts_stay_text(page: Node, dataset: Path, tmp_path: Path) -> None:
    out = render_report(dataset, tmp_path / "h.html", since="2026-11-27", until="2026-12-01",
                        title="<b>&</b>")  # fmt: skip
    html = out.read_text(encoding="utf-8")
    assert "<script" not in html.lower() and "<b>&" not in html
    page = parse_html(html)
    assert page.find("h1").text == "<b>&</b>"
    texts = [n.attrs.get("title") or n.text for n in page.find_all("bdi")]
    assert SCRIPT_NAME in texts


def test_csv_gives_the_same_incident_page(page: Node, tmp_path: Path) -> None:
    csv_root = make_dataset(tmp_path / "csv", "csv")
    out = render_report(csv_root, tmp_path / "c.html", since=SINCE, until=UNTIL)
    from_csv = parse_html(out.read_text(encoding="utf-8"))

    def figures_of(p: Node) -> list[tuple[str, str, str]]:
        return [
            (
                n.attrs.get("data-metric") or n.attrs.get("data-column") or "",
                n.attrs.get("data-value", ""),
                n.text,
            )
            for n in p.find("main").iter()
            if {"data-value", "data-column", "data-metric"} & set(n.attrs)
        ]

    assert figures_of(from_csv) == figures_of(page) and len(figures_of(page)) > 200


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_an_empty_dataset_gives_a_clear_incident_page(tmp_path: Path, fmt: str) -> None:
    root = make_dataset(tmp_path, fmt, empty=True)
    page = parse_html(render_report(root, since=SINCE, until=UNTIL).read_text(encoding="utf-8"))
    assert "No data" in page.find("section", id="no-data").text
    assert page.find(data_metric="hosts").attrs["data-value"] == "0"


def test_navigation_links_point_at_sections(page: Node, dataset: Path, tmp_path: Path) -> None:
    empty = render_report(dataset, tmp_path / "e.html", since="2030-01-01", until="2030-01-02")
    for shown in (page, parse_html(empty.read_text(encoding="utf-8"))):
        ids = {n.attrs["id"] for n in shown.iter() if "id" in n.attrs}
        links = [a.attrs["href"] for a in shown.find("nav").find_all("a")]
        assert links and all(href[1:] in ids for href in links), links
