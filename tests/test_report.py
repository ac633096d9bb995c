"""The HTML report, checked by parsing it against a pandas computation on the same dataset."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from jinja2 import StrictUndefined

from pipeline.errors import UsageError
from pipeline.report import render_report
from pipeline.report.render import environment
from pipeline.resources import templates_dir
from pipeline.schema import TABLES
from tests.test_report_data import (
    SCRIPT_NAME,
    Node,
    durations,
    expected_headline,
    expected_percentiles,
    expected_rates_by,
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
    return make_dataset(tmp_path_factory.mktemp("parquet"))


@pytest.fixture(scope="module")
def tables(dataset: Path) -> dict[str, pd.DataFrame]:
    return load_tables(dataset)


@pytest.fixture(scope="module")
def html(dataset: Path) -> str:
    return render_report(dataset).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def page(html: str) -> Node:
    return parse_html(html)


def dv(cell: Node) -> float | None:
    """A cell's data-value as a number (None for "")."""
    raw = cell.attrs["data-value"]
    return None if raw == "" else float(raw)


# --- headline -----------------------------------------------------------------------------


def test_headline_matches_pandas(page: Node, tables: dict[str, pd.DataFrame]) -> None:
    expected = expected_headline(tables)
    for name in ("jobs", "steps", "hosts", "step_failure_rate", "host_failure_rate"):
        (cell,) = page.find_all(data_metric=name)
        want = expected[name]
        assert want is not None
        assert dv(cell) == want, name  # exact: the same IEEE division of the same counts
        if name.endswith("_rate"):
            assert cell.text == f"{want * 100:.1f}%"
            assert cell.attrs["data-value"] == repr(want)  # unrounded
        else:
            assert cell.text == f"{want:,}"
            assert cell.attrs["data-value"] == str(want)


def test_stopped_and_skipped_are_shown_apart(page: Node, tables: dict[str, pd.DataFrame]) -> None:
    expected = expected_headline(tables)
    assert expected["steps_stopped"] > 0 and expected["steps_skipped"] > 0
    for name in ("steps_stopped", "steps_skipped"):
        assert page.find(data_count=name).text == str(expected[name])


# --- breakdowns, durations, hosts, failed steps --------------------------------------------


@pytest.mark.parametrize(
    ("table_id", "key"),
    [
        ("failure_by_step_name", "name"),
        ("failure_by_step_type", "step_type_name"),
        ("failure_by_business", "bk_biz_id"),
        ("failure_by_operator", "operator"),
    ],
)
def test_breakdowns_match_pandas(
    page: Node, tables: dict[str, pd.DataFrame], table_id: str, key: str
) -> None:
    expected = expected_rates_by(tables, key)
    rows = table_rows(page.find("table", id=f"table-{table_id}"))
    assert len(rows) == len(expected)
    failed_order = [int(r["steps_failed"].text.replace(",", "")) for r in rows]
    assert failed_order == sorted(failed_order, reverse=True)
    for row in rows:
        shown = key_text(row["key"])
        want = expected[int(shown) if key == "bk_biz_id" and shown is not None else shown]
        assert int(row["steps"].text) == want["steps"]
        assert int(row["steps_failed"].text) == want["steps_failed"]
        assert int(row["hosts_failed"].text) == want["hosts_failed"]
        assert dv(row["step_failure_rate"]) == want["step_failure_rate"]
        assert dv(row["host_failure_rate"]) == want["host_failure_rate"]


def test_duration_percentiles_match_pandas(page: Node, tables: dict[str, pd.DataFrame]) -> None:
    expected = expected_percentiles(tables)
    rows = table_rows(page.find("table", id="table-duration_by_step_name"))
    assert len(rows) == len(expected)
    for row in rows:
        want = expected[key_text(row["key"])]
        for column in ("p50_s", "p90_s", "p99_s", "max_s"):
            assert dv(row[column]) == pytest.approx(want[column], rel=1e-12, abs=1e-9)


def test_slowest_steps_match_pandas(page: Node, tables: dict[str, pd.DataFrame]) -> None:
    d = durations(tables).sort_values(["total_time_s", "step_instance_id"], ascending=[False, True])
    rows = table_rows(page.find("table", id="table-slowest_steps"))
    assert len(rows) == min(50, len(d))
    shown = [int(r["step_instance_id"].text) for r in rows]
    assert shown == list(d.step_instance_id[: len(rows)])
    assert [dv(r["total_time_s"]) for r in rows] == list(d.total_time_s[: len(rows)])


def test_failing_hosts_match_pandas(page: Node, tables: dict[str, pd.DataFrame]) -> None:
    h = tables["step_hosts"]
    per = h.groupby(["bk_cloud_id", "ip"]).outcome.agg(
        failed=lambda s: int((s == "failed").sum()), success=lambda s: int((s == "success").sum())
    )
    per = per[per.failed > 0]
    rows = table_rows(page.find("table", id="table-failing_hosts"))
    assert len(rows) == min(50, len(per))
    counts = [int(r["hosts_failed"].text) for r in rows]
    assert counts == sorted(counts, reverse=True)
    assert counts[0] == per.failed.max()
    for row in rows[:10]:
        want = per.loc[(int(row["bk_cloud_id"].text), key_text(row["ip"]))]
        assert int(row["hosts_failed"].text) == want.failed
        assert dv(row["host_failure_rate"]) == want.failed / (want.failed + want.success)


def test_failed_steps_show_their_failing_hosts(page: Node, tables: dict[str, pd.DataFrame]) -> None:
    steps, hosts = tables["steps"], tables["step_hosts"]
    failed = steps[steps.outcome == "failed"].sort_values(
        ["start_time", "step_instance_id"], ascending=False, na_position="last"
    )
    blocks = page.find_all("div", **{"class": "failed-step"})
    shown = [int(b.attrs["data-step-instance-id"]) for b in blocks]
    assert shown == list(failed.step_instance_id[:50])
    for block in blocks[:15]:
        sid = int(block.attrs["data-step-instance-id"])
        bad = hosts[(hosts.step_instance_id == sid) & (hosts.outcome == "failed")]
        assert block.find(data_count="hosts_failed").text == str(len(bad))
        tbl = block.find_all("table")
        ips = (
            sorted(r.find_all("td")[1].text for r in tbl[0].find("tbody").find_all("tr"))
            if tbl
            else []
        )
        assert ips == sorted(bad.ip)[:20]


# --- safety -------------------------------------------------------------------------------


def test_hostile_texts_are_text_not_markup(html: str, page: Node) -> None:
    assert "<script" not in html.lower()
    assert "<img" not in html.lower() and "<b>" not in html
    texts = [n.attrs.get("title") or n.text for n in page.find_all("bdi")]
    assert SCRIPT_NAME in texts
    assert "<img src=x onerror=alert(1)>" in texts
    assert "say \"hi\" & <b>bold</b> 'single'" in texts
    assert "{{ 7 * 7 }} {% if true %}jinja{% endif %}" in texts  # not rendered as a template
    assert any(t.startswith("\u0646\u0634\u0631") and "\u202e" in t for t in texts)  # RTL kept
    assert "very long " + "x" * 600 in texts  # in full in the title of the cut cell
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html


def test_no_external_resources(html: str, page: Node) -> None:
    lowered = html.lower()
    for tag in ("<script", "<link", "<iframe", "<object", "<embed", "<img", "<audio", "<video"):
        assert tag not in lowered
    assert "@import" not in lowered and "@font-face" not in lowered
    for style in page.find_all("style"):
        assert "url(" not in style.text
    for node in page.iter():
        for name, value in node.attrs.items():
            if name in ("href", "src", "xlink:href", "srcset", "action", "poster", "data"):
                assert value.startswith("#"), (node.tag, name, value)
            if name == "style":
                assert "url(" not in value or "url(#" in value


def test_charts_are_inline_svg_with_escaped_text(html: str, page: Node) -> None:
    for chart in ("failure_by_step_name", "duration_histogram", "duration_percentiles"):
        assert page.find("figure", id=f"chart-{chart}").find_all("svg")
    assert "<?xml" not in html and "<!DOCTYPE svg" not in html and "<metadata" not in html
    assert "mathdefault" not in html  # mathtext off: no raw TeX in labels
    svg_texts = [
        t.text for t in page.find("figure", id="chart-failure_by_step_name").find_all("text")
    ]
    assert SCRIPT_NAME in svg_texts


def test_footer_has_definitions_and_run_info_without_secrets(html: str, page: Node) -> None:
    footer = page.find("footer")
    text = " ".join(footer.text.split())
    assert "distinct (bk_cloud_id, ip) pairs" in text
    assert "steps with outcome failed / steps with outcome success or failed" in text
    assert "run-1" in text and "https://bk.example.com/api/c/compapi" in text
    for secret in ("s3cret-pass", "topsecret", "never-shown-secret", "bk_app_secret"):
        assert secret not in html
    assert "step 1 <b>host list incomplete</b>" in text  # a warning, escaped


# --- edge cases ---------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_empty_dataset_renders_a_no_data_page(tmp_path: Path, fmt: str) -> None:
    out = render_report(make_dataset(tmp_path, fmt, empty=True))
    page = parse_html(out.read_text(encoding="utf-8"))
    assert "No data" in page.find("section", id="no-data").text
    for name in ("jobs", "steps", "hosts"):
        cell = page.find(data_metric=name)
        assert (cell.attrs["data-value"], cell.text) == ("0", "0")
    for name in ("step_failure_rate", "host_failure_rate"):
        cell = page.find(data_metric=name)
        assert (cell.attrs["data-value"], cell.text) == ("", "n/a")
    assert not page.find_all("svg")


@pytest.mark.parametrize("make", [lambda p: p / "missing", lambda p: p])
def test_missing_or_empty_folder_is_a_usage_error(tmp_path: Path, make: Any) -> None:
    with pytest.raises(UsageError) as caught:
        render_report(make(tmp_path))
    assert "\n" not in str(caught.value) and str(tmp_path) in str(caught.value)


def test_parquet_and_csv_give_the_same_figures(tmp_path: Path, html: str) -> None:
    csv_root = make_dataset(tmp_path / "csv", "csv")
    assert list(csv_root.rglob("*.csv")) and not list(csv_root.rglob("*.parquet"))
    from_csv = parse_html(render_report(csv_root).read_text(encoding="utf-8"))
    from_parquet = parse_html(html)

    def figures(page: Node) -> list[tuple[str, ...]]:
        cells = page.find("main").iter()
        return [
            (
                n.attrs.get("data-metric") or n.attrs.get("data-column") or "",
                n.attrs.get("data-value", ""),
                n.text,
            )
            for n in cells
            if "data-value" in n.attrs or "data-column" in n.attrs or "data-count" in n.attrs
        ]

    assert figures(from_csv) == figures(from_parquet)
    assert len(figures(from_csv)) > 500


def test_output_path_title_and_atomic_write(dataset: Path, tmp_path: Path) -> None:
    target = tmp_path / "sub" / "night.html"
    assert render_report(dataset, target, title="Night <1>") == target
    page = parse_html(target.read_text(encoding="utf-8"))
    assert page.find("title").text == "Night <1>" and page.find("h1").text == "Night <1>"
    assert [p.name for p in target.parent.iterdir()] == ["night.html"]  # no temp file left
    assert render_report(str(dataset)) == dataset / "report.html"


def test_missing_manifest_still_renders(tmp_path: Path) -> None:
    root = make_dataset(tmp_path, jobs=3)
    (root / "manifest.json").unlink()
    page = parse_html(render_report(root).read_text(encoding="utf-8"))
    assert "no manifest.json" in page.find("section", id="run").text


def test_rates_are_fractions_and_na_when_base_is_empty(page: Node) -> None:
    for cell in page.find_all("td", data_column="step_failure_rate"):
        value = dv(cell)
        assert (value is None and cell.text == "n/a") or (value is not None and 0 <= value <= 1)
        if value is not None:
            assert not math.isnan(value)


def test_one_jinja_environment_with_autoescape_and_strict_undefined() -> None:
    env = environment(templates_dir())
    assert env is environment(templates_dir())
    assert env.undefined is StrictUndefined
    assert env.autoescape("report.html") is True  # type: ignore[operator]


def test_capped_tables_say_how_many_there_are(tmp_path: Path) -> None:
    rows = synthetic_rows(seed=5, jobs=40)
    for i, row in enumerate(rows["steps"]):
        row["name"] = f"step-{i:03d}"
    for spec in TABLES.values():
        write_table(tmp_path, "parquet", spec, rows[spec.name])
    page = parse_html(render_report(tmp_path).read_text(encoding="utf-8"))
    by_name = page.find("table", id="table-failure_by_step_name")
    assert len(table_rows(by_name)) == 50
    notes = [p.text for p in page.find_all("p", **{"class": "capped"})]
    assert f"Showing the top 50 of {len(rows['steps'])} groups." in notes
