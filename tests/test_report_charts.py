"""The inline SVG charts: escaped text, no mathtext, no prolog, no external reference."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from xml.etree import ElementTree
from zoneinfo import ZoneInfo

import pytest

from pipeline.report import charts, incident_charts

HOSTILE = [
    "<script>alert(1)</script>",
    "a \"q\" & 'b' {{ x }}",
    "$x$ unbalanced $ \\frac{1}{2}",
    "\u90e8\u7f72\u811a\u672c",
    "\u0645\u0631\u062d\u0628\u0627 \u202eabc",
    "-- comment -->",
]


def rate_rows() -> list[dict[str, object]]:
    return [
        {
            "name": n,
            "steps_success": 3,
            "steps_failed": i + 1,
            "step_failure_rate": (i + 1) / (i + 4),
        }
        for i, n in enumerate(HOSTILE)
    ]


def svg_texts(svg: str) -> list[str]:
    root = ElementTree.fromstring(svg)  # well-formed XML on its own
    return ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]


def test_failure_rate_chart_escapes_labels_and_keeps_dollars() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a glyph warning must not escape the chart code
        svg = str(charts.failure_rate_by(rate_rows(), "name", "step name"))
    assert svg.startswith("<svg ") and "<?xml" not in svg and "<metadata" not in svg
    assert "<script" not in svg and "&lt;script&gt;" in svg
    texts = svg_texts(svg)
    for label in HOSTILE:
        assert label in texts
    assert not re.search(r'(?:href|src)="(?!#)', svg)


def test_duration_charts() -> None:
    hist = [
        {
            "band_order": 1,
            "band": "< 1 s",
            "steps": 3,
            "steps_success": 1,
            "steps_failed": 1,
            "steps_other": 1,
        },
        {
            "band_order": 5,
            "band": "1-5 min",
            "steps": 2,
            "steps_success": 2,
            "steps_failed": 0,
            "steps_other": 0,
        },
    ]
    assert "1-5 min" in svg_texts(str(charts.duration_histogram(hist)))
    pct = [{"name": "<b>x</b>", "p50_s": 0.0, "p90_s": 2.0, "p99_s": 30.0, "max_s": 400.0}]
    svg = str(charts.duration_percentiles(pct))
    assert "<b>x</b>" in svg_texts(svg) and "mathdefault" not in svg


@pytest.mark.parametrize(
    "make",
    [
        lambda: charts.failure_rate_by([], "name", "step name"),
        lambda: charts.duration_histogram([]),
        lambda: charts.duration_percentiles([]),
        lambda: charts.rates_by_day(
            [{"day": "2026-11-29", "step_failure_rate": 0.1, "host_failure_rate": None}]
        ),
        lambda: charts.failure_causes([]),
    ],
)
def test_no_chart_without_data(make: Callable[[], object]) -> None:
    assert make() is None


def test_matplotlib_is_imported_only_when_a_chart_is_drawn() -> None:
    check = "import sys, pipeline.report; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- fonts, the timeline, the comparison bars ---------------------------------------------

T = datetime(2026, 11, 28, 1, tzinfo=UTC)


def timeline_rows(names: list[str]) -> list[dict[str, object]]:
    outcomes = ["success", "failed", "running", "stopped", "skipped", "pending", "unknown"]
    return [
        {
            "lane": i + 1,
            "bk_biz_id": 2,
            "job_instance_id": 9000 + i,
            "job_name": name if i % 2 else None,
            "name": name,
            "outcome": outcomes[i % len(outcomes)],
            "start_time": T + timedelta(minutes=7 * i),
            "bar_end": T + timedelta(minutes=7 * i + (0 if i == 1 else 30)),
        }
        for i, name in enumerate(names)
    ]


def test_chart_text_is_text_with_a_cjk_font_stack() -> None:
    svg = str(charts.failure_causes([{"cause_label": "\u90e8\u7f72 & <x>", "host_rows": 3,
                                      "share": 1.0}]))  # fmt: skip
    assert "\u90e8\u7f72 &amp; &lt;x&gt;" in svg and "<path" in svg  # text as text, escaped
    styles = re.findall(r'font-family: ([^;"]*)', svg)
    assert styles and set(styles) == {charts.FONT_STACK}
    for font in ("Noto Sans CJK SC", "Microsoft YaHei", "PingFang SC", "WenQuanYi Micro Hei"):
        assert f"'{font}'" in charts.FONT_STACK
    assert charts.FONT_STACK.endswith("sans-serif")


def test_timeline_escapes_names_and_draws_one_lane_per_job() -> None:
    names = [*HOSTILE, "a & b <script>x</script>", "\u90e8\u7f72\u811a\u672c very long " * 4]
    rows = timeline_rows(names)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        svg = str(
            incident_charts.timeline(rows, T, T + timedelta(hours=2), ZoneInfo("Asia/Shanghai"))
        )
    assert "<script" not in svg and "&lt;script&gt;" in svg
    labels = [t for t in svg_texts(svg) if t.startswith("2:")]
    assert len(labels) == len(names)
    assert "2:9006  a & b <script>x</script>" in labels
    assert any("\u90e8\u7f72\u811a\u672c" in label and label.endswith("\u2026") for label in labels)
    assert "time (Asia/Shanghai)" in svg_texts(svg)
    assert incident_charts.timeline([], T, T, ZoneInfo("UTC")) is None


def test_failed_by_name_bars() -> None:
    rows = [{"name": "<b>&</b>", "steps_failed": 3, "before_steps_failed": 0},
            {"name": None, "steps_failed": 0, "before_steps_failed": 2}]  # fmt: skip
    texts = svg_texts(str(incident_charts.failed_by_name(rows)))
    assert "<b>&</b>" in texts and "(none)" in texts and "span before" in texts
    assert incident_charts.failed_by_name([]) is None


def test_wide_characters_count_twice() -> None:
    assert charts.shorten_wide("\u90e8\u7f72\u811a\u672c", 8) == "\u90e8\u7f72\u811a\u672c"
    assert charts.shorten_wide("\u90e8\u7f72\u811a\u672c", 7) == "\u90e8\u7f72\u811a\u2026"
    assert charts.shorten_wide("\u90e8\u7f72\u811a\u672c", 6) == "\u90e8\u7f72\u2026"
    assert charts.shorten_wide("abcdefgh", 5) == "abcd\u2026"
    assert charts.shorten_wide(None, 6) == "(none)"
