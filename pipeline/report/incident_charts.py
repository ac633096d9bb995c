"""The incident view's charts. The timeline: one lane per job, one bar per step, coloured by
outcome.

Drawn from the rows of ``sql/incident/timeline.sql`` (at most 40 lanes). The x axis shows
times in the API time zone and spans the part of the window that holds steps; a step that
began before the window or ends after it is cut at the edge. A step too short to see gets a
thin bar of minimum width.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from markupsafe import Markup

from pipeline.report.charts import (
    ACCENT,
    FAILED,
    MAX_BARS,
    OTHER,
    SUCCESS,
    draw,
    labels,
    shorten_wide,
)
from pipeline.report.metrics import Row

if TYPE_CHECKING:
    from matplotlib.axes import Axes

#: bar colour per outcome, in legend order
OUTCOME_COLOURS: dict[str, str] = {
    "success": SUCCESS,
    "failed": FAILED,
    "running": ACCENT,
    "pending": "#90caf9",
    "stopped": "#ef6c00",
    "skipped": "#cfd8dc",
    "unknown": OTHER,
}
LANE_LABEL_CHARS = 24
#: the narrowest bar, as a share of the time axis
MIN_BAR = 0.004


def lane_label(step: Row) -> str:
    """``BIZ:JOB`` and the job's name (else the name of its first step in the window)."""
    name = step["job_name"] if step["job_name"] is not None else step["name"]
    short = shorten_wide(None if name is None else str(name), LANE_LABEL_CHARS)
    return f"{step['bk_biz_id']}:{step['job_instance_id']}  {short}"


def x_range(rows: list[Row], since: datetime, until: datetime) -> tuple[datetime, datetime]:
    """The window, cut down to the span that holds steps, with a little margin."""
    lo = max(since, min(r["start_time"] for r in rows))
    hi = min(until, max(r["bar_end"] for r in rows))
    if hi <= lo:
        lo, hi = lo - timedelta(minutes=1), lo + timedelta(minutes=1)
    pad = (hi - lo) * 0.02
    return lo - pad, hi + pad


def timeline(rows: list[Row], since: datetime, until: datetime, tz: ZoneInfo) -> Markup | None:
    """The timeline SVG of ``timeline.sql`` rows; None when the window holds no step."""
    rows = [r for r in rows if r["start_time"] is not None]
    if not rows:
        return None
    lanes = sorted({r["lane"] for r in rows})
    first = {lane: next(r for r in rows if r["lane"] == lane) for lane in lanes}
    lo, hi = x_range(rows, since, until)

    def paint(ax: Axes) -> None:
        from matplotlib import dates

        mdates: Any = dates  # untyped module
        date2num: Callable[[datetime], float] = mdates.date2num
        locator = mdates.AutoDateLocator(tz=tz, maxticks=8)
        formatter = mdates.ConciseDateFormatter(locator, tz=tz, show_offset=True)
        left, right = date2num(lo), date2num(hi)
        bars: dict[str, list[tuple[int, float, float]]] = {}
        for r in rows:  # bars cut at the edges: nothing outside the axes for the layout
            start = min(max(date2num(r["start_time"]), left), right)
            end = min(max(date2num(r["bar_end"]), left), right)
            width = max(end - start, (right - left) * MIN_BAR)
            bars.setdefault(str(r["outcome"]), []).append((r["lane"], width, start))
        for outcome, (ys, widths, starts) in ((o, zip(*b, strict=True)) for o, b in bars.items()):
            colour = OUTCOME_COLOURS.get(outcome, OTHER)
            ax.barh(ys, widths, left=starts, height=0.62, color=colour, linewidth=0)
        ax.set_yticks(lanes, [lane_label(first[lane]) for lane in lanes])
        ax.set_ylim(max(lanes) + 0.7, min(lanes) - 0.7)
        ax.set_xlim(left, right)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(formatter)
        ax.set_xlabel(f"time ({tz.key})")
        ax.grid(axis="x", color="#e0e0e0", linewidth=0.6)
        ax.set_axisbelow(True)
        _legend(ax, rows)

    return draw("Timeline of the window's steps", 1.2 + 0.24 * len(lanes), paint)


def failed_by_name(rows: list[Row]) -> Markup | None:
    """Paired bars per step name: failed steps in the span before and in the window."""
    shown = rows[:MAX_BARS]
    if not shown:
        return None

    def paint(ax: Axes) -> None:
        from matplotlib.ticker import MaxNLocator

        ys = list(range(len(shown)))[::-1]
        before = [int(r["before_steps_failed"]) for r in shown]
        window = [int(r["steps_failed"]) for r in shown]
        ax.barh([y + 0.2 for y in ys], before, height=0.38, color=OTHER, label="span before")
        ax.barh([y - 0.2 for y in ys], window, height=0.38, color=FAILED, label="window")
        ax.set_yticks(ys, labels(shown, "name"))
        ax.set_xlabel("failed steps")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(frameon=False, ncols=2, loc="lower left", bbox_to_anchor=(0.0, 1.0))

    return draw("Failed steps by step name", 1.0 + 0.32 * len(shown), paint)


def _legend(ax: Axes, rows: list[Row]) -> None:
    """The outcomes present, above the axes, as a figure legend (one anchored to a narrow
    axes would widen the layout's margins)."""
    from matplotlib.patches import Patch

    shown = [o for o in OUTCOME_COLOURS if any(r["outcome"] == o for r in rows)]
    handles = [Patch(color=OUTCOME_COLOURS[o], label=o) for o in shown]
    figure = ax.get_figure(root=True)
    assert figure is not None
    figure.legend(handles=handles, frameon=False, ncols=len(shown), loc="outside upper left")
