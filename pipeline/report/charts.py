"""Charts as inline SVG, drawn with matplotlib from the rows of the metric queries.

matplotlib is imported on first use (it costs most of a second). Figures are made with
``matplotlib.figure.Figure`` directly, never pyplot, so no global backend or figure state is
touched. Text stays text (``svg.fonttype = none``), which matplotlib escapes for XML, and the
reader's browser draws it with the first font of :data:`FONT_STACK` that has the glyphs, so
Chinese step names show on any system with a CJK font. matplotlib measures text with DejaVu
Sans and, where one is installed, a CJK font of the stack. Mathtext is off, so a ``$`` in a
step name is just a character. The XML prolog, DOCTYPE and metadata (which carry URLs) are
stripped: the result is a bare ``<svg>`` element.
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING, Any
from unicodedata import east_asian_width

from markupsafe import Markup, escape

from pipeline.report.formatting import secs, shorten
from pipeline.report.metrics import Row

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

SUCCESS, FAILED, OTHER, ACCENT = "#2e7d32", "#c62828", "#9e9e9e", "#1565c0"
MAX_BARS = 12
LABEL_CHARS = 40
#: the fonts the browser may draw chart text with: Latin first, then CJK, then any sans-serif
LATIN_FONTS = ("DejaVu Sans", "Helvetica", "Arial")
CJK_FONTS = (
    "Noto Sans CJK SC",
    "Source Han Sans SC",
    "Microsoft YaHei",
    "PingFang SC",
    "Hiragino Sans GB",
    "WenQuanYi Micro Hei",
)
FONT_STACK = ", ".join(f"'{f}'" for f in (*LATIN_FONTS, *CJK_FONTS)) + ", sans-serif"

_PROLOG = re.compile(r"\A.*?(?=<svg\b)", re.DOTALL)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL)
_FONT_FAMILY = re.compile(r"font-family: [^;\"]*")


@cache
def _layout_fonts() -> tuple[str, ...]:
    """DejaVu Sans and the CJK fonts of the stack that matplotlib finds on this machine."""
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    return ("DejaVu Sans", *(f for f in CJK_FONTS if f in installed))


def draw(title: str, height: float, paint: Callable[[Axes], None]) -> Markup:
    """Run ``paint`` on the axes of a new figure and return the figure as an inline SVG."""
    import matplotlib
    from matplotlib.figure import Figure

    with (
        matplotlib.rc_context(
            {
                "svg.fonttype": "none",
                "svg.hashsalt": "bkjob-export",
                "text.parse_math": False,
                "font.family": list(_layout_fonts()),
                "font.size": 8,
                "axes.spines.top": False,
                "axes.spines.right": False,
            }
        ),
        warnings.catch_warnings(),
    ):
        # fonts without CJK / Arabic glyphs: the browser draws the text, not matplotlib
        warnings.filterwarnings(
            "ignore", message=r"Glyph \d+ .* missing from", category=UserWarning
        )
        fig = Figure(figsize=(7.2, height), layout="constrained")
        paint(fig.add_subplot())
        return _to_svg(fig, title)


def _to_svg(fig: Figure, title: str) -> Markup:
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None})
    svg = _METADATA.sub("", _PROLOG.sub("", buf.getvalue(), count=1), count=1)
    svg = _FONT_FAMILY.sub(f"font-family: {FONT_STACK}", svg)
    label = escape(title)
    return Markup(svg.replace("<svg ", f'<svg role="img" aria-label="{label}" ', 1))


def labels(rows: list[Row], key: str, limit: int = LABEL_CHARS) -> list[str]:
    """The texts of ``key`` cut to ``limit`` columns (a CJK character takes two)."""
    return [shorten_wide(None if r[key] is None else str(r[key]), limit) for r in rows]


def shorten_wide(text: str | None, limit: int) -> str:
    """:func:`shorten` by display width: East Asian wide characters count twice."""
    text = shorten(text, 10**9)
    widths = [2 if east_asian_width(char) in ("W", "F") else 1 for char in text]
    if sum(widths) <= limit:
        return text
    used = 0
    for i, width in enumerate(widths):
        if used + width > limit - 1:  # room for the ellipsis
            return text[:i] + "\u2026"
        used += width
    return text


def failure_rate_by(rows: list[Row], key: str, what: str) -> Markup | None:
    """Horizontal bars: step failure rate per ``key`` for the groups with most failed steps."""
    shown = [r for r in rows if r["step_failure_rate"] is not None][:MAX_BARS]
    if not shown:
        return None

    def paint(ax: Axes) -> None:
        ys = list(range(len(shown)))[::-1]
        rates = [r["step_failure_rate"] * 100 for r in shown]
        ax.barh(ys, rates, color=FAILED)
        ax.set_yticks(ys, labels(shown, key))
        for y, rate, r in zip(ys, rates, shown, strict=True):
            base = r["steps_success"] + r["steps_failed"]
            ax.annotate(f" {r['steps_failed']}/{base}", (rate, y), va="center", fontsize=7)
        ax.set_xlabel("step failure rate (%)")
        ax.set_xlim(0, min(max(max(rates) * 1.2, 1), 115))

    return draw(f"Step failure rate by {what}", 0.9 + 0.28 * len(shown), paint)


def duration_histogram(rows: list[Row]) -> Markup | None:
    """Stacked bars: steps per duration band, success / failed / other."""
    if not rows:
        return None

    def paint(ax: Axes) -> None:
        xs = list(range(len(rows)))
        bottom = [0] * len(rows)
        for column, color, label in (
            ("steps_success", SUCCESS, "success"),
            ("steps_failed", FAILED, "failed"),
            ("steps_other", OTHER, "stopped / other"),
        ):
            values = [int(r[column]) for r in rows]
            ax.bar(xs, values, bottom=bottom, color=color, label=label)
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
        ax.set_xticks(xs, [str(r["band"]) for r in rows])
        ax.set_ylabel("steps")
        ax.legend(frameon=False)

    return draw("Steps per duration band", 2.6, paint)


def duration_percentiles(rows: list[Row]) -> Markup | None:
    """Per step name (slowest p90 first): a line from p50 to max, marks at p50/p90/p99/max."""
    shown = [r for r in rows if r["max_s"] is not None][:MAX_BARS]
    if not shown:
        return None

    def paint(ax: Axes) -> None:
        ys = list(range(len(shown)))[::-1]
        floor = 0.01
        ax.hlines(
            ys,
            [max(r["p50_s"], floor) for r in shown],
            [max(r["max_s"], floor) for r in shown],
            color=OTHER,
        )
        for column, marker, label in (
            ("p50_s", "o", "p50"),
            ("p90_s", "s", "p90"),
            ("p99_s", "D", "p99"),
            ("max_s", "|", "max"),
        ):
            xs = [max(r[column], floor) for r in shown]
            ax.plot(xs, ys, marker, label=label, color=ACCENT if label != "max" else FAILED)
        _log_seconds_axis(ax)
        ax.set_yticks(ys, labels(shown, "name"))
        ax.legend(frameon=False, ncols=4, loc="lower left", bbox_to_anchor=(0.0, 1.0))

    return draw("Duration percentiles by step name", 0.9 + 0.28 * len(shown), paint)


def _log_seconds_axis(ax: Axes) -> None:
    """A log-scale x axis labelled in readable durations (no mathtext: it is off)."""
    from matplotlib.ticker import FuncFormatter, NullFormatter

    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: secs(v)))
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("duration (log scale)")


def rates_by_day(rows: list[Row]) -> Markup | None:
    """Lines: step and host failure rate per day, oldest first; None for fewer than 2 days."""
    days = sorted((r for r in rows if r["day"] is not None), key=lambda r: str(r["day"]))
    if len(days) < 2:
        return None

    def paint(ax: Axes) -> None:
        xs = list(range(len(days)))
        for column, color, label in (
            ("step_failure_rate", FAILED, "steps"),
            ("host_failure_rate", ACCENT, "hosts"),
        ):
            ys: list[Any] = [None if r[column] is None else r[column] * 100 for r in days]
            ax.plot(
                xs, [float("nan") if y is None else y for y in ys], "o-", color=color, label=label
            )
        step = max(len(days) // 10, 1)
        ax.set_xticks(xs[::step], [str(r["day"]) for r in days][::step], rotation=30, ha="right")
        ax.set_ylabel("failure rate (%)")
        ax.set_ylim(bottom=0)
        ax.legend(frameon=False)

    return draw("Failure rate per day", 2.6, paint)


def failure_causes(rows: list[Row]) -> Markup | None:
    """Horizontal bars: failed host rows per cause."""
    if not rows:
        return None

    def paint(ax: Axes) -> None:
        ys = list(range(len(rows)))[::-1]
        counts = [int(r["host_rows"]) for r in rows]
        ax.barh(ys, counts, color=FAILED)
        ax.set_yticks(ys, [str(r["cause_label"]) for r in rows])
        for y, n, r in zip(ys, counts, rows, strict=True):
            ax.annotate(f" {n:,} ({r['share'] * 100:.0f}%)", (n, y), va="center", fontsize=7)
        ax.set_xlim(0, max(counts) * 1.25)
        ax.set_xlabel("failed host results")

    return draw("Host failures by cause", 0.9 + 0.28 * len(rows), paint)
