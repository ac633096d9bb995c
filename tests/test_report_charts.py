"""The inline SVG charts: escaped text, no mathtext, no prolog, no external reference."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from collections.abc import Callable
from xml.etree import ElementTree

import pytest

from pipeline.report import charts

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
