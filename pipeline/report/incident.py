"""The incident view: one window of the dataset -> :class:`IncidentContext`.

``sql/window.sql`` narrows the views to the window, so the nightly metric files give the
window's figures; ``sql/incident/*.sql`` add the timeline and the comparison with the same
span before the window.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from pipeline.report import charts, incident_charts
from pipeline.report.context import (
    DEFINITIONS,
    NIGHTLY_DEFINITIONS,
    Capped,
    Chart,
    Comparison,
    FailedStep,
    Metric,
    capped,
    comparison,
    failed_steps,
    headline_metrics,
)
from pipeline.report.dataset import Dataset, connect
from pipeline.report.formatting import when
from pipeline.report.manifest import RunInfo, read_manifest
from pipeline.report.metrics import Row, run_metrics
from pipeline.report.window import Window, window_sql

#: the sql/metrics files the incident page shows, run over the window
WINDOW_METRICS = (
    "headline",
    "outcome_counts",
    "host_failure_causes",
    "failing_hosts",
    "failed_steps",
    "fetch_errors_by_kind",
    "failed_host_logs",
)

WINDOW_DEFINITIONS: tuple[tuple[str, str], ...] = (
    (
        "Window",
        "[since, until). A step is in it when it ran during it: it started before the end and "
        "ended at or after the start (a step that has not ended counts as running until it was "
        "last fetched). A step that never started is in no window. Host results follow their "
        "step.",
    ),
    (
        "Span before",
        "the same length of time, ending where the window starts, with the same business and "
        "job filter. A step running across the window's start is in both.",
    ),
    (
        "Fetch errors",
        "carry no step times: the page lists those of the business and job filter, whatever "
        "their time.",
    ),
)


@dataclass(frozen=True)
class Lane:
    """A job of the timeline: its row (job columns of timeline.sql) and its steps."""

    job: Row
    steps: list[Row]


@dataclass(frozen=True)
class IncidentContext:
    """Everything ``incident.html`` shows."""

    title: str
    generated_at: datetime
    source: str
    window: Window
    #: the zone the page shows times in (the API time zone)
    tz: str
    #: False when no step ran in the window: the page says so
    has_data: bool
    headline: list[Metric]
    totals: Row
    outcome_counts: list[Row]
    comparison: Comparison
    by_step_name: Capped
    lanes: list[Lane]
    jobs_total: int
    causes: list[Row]
    failing_hosts: Capped
    failed_steps: list[FailedStep]
    failed_steps_total: int
    fetch_errors: list[Row]
    run: RunInfo
    charts: dict[str, Chart] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    #: rows of failed_host_logs.sql: log tails of failing hosts (runs with --with-logs)
    host_logs: list[Row] = field(default_factory=list)
    definitions: tuple[tuple[str, str], ...] = (
        DEFINITIONS + WINDOW_DEFINITIONS + NIGHTLY_DEFINITIONS[1:]
    )


def incident_context(dataset: Dataset, window: Window, title: str | None = None) -> IncidentContext:
    """Run the window's queries over ``dataset`` and build the incident page's context."""
    con = connect(dataset, window_sql(window))
    try:
        results = run_metrics(con, dataset, names=WINDOW_METRICS)
        results |= run_metrics(con, dataset, "incident")
    finally:
        con.close()
    return build_incident(dataset, window, results, title)


def build_incident(
    dataset: Dataset, window: Window, results: dict[str, list[Row]], title: str | None
) -> IncidentContext:
    """The incident page's context from the rows of the window's queries."""
    head = results["headline"][0]
    steps = failed_steps(results["failed_steps"])
    lanes = group_lanes(results["timeline"])
    has_data = bool(head["steps"] or head["host_rows"])
    return IncidentContext(
        title=title or default_title(window),
        generated_at=datetime.now(UTC),
        source=f"{dataset.root.name or dataset.root} ({dataset.format})",
        window=window,
        tz=window.tz.key,
        has_data=has_data,
        headline=headline_metrics(head),
        totals=head,
        outcome_counts=results["outcome_counts"],
        comparison=window_comparison(window, results["compare"]),
        by_step_name=capped(results["compare_by_step_name"], "total_groups"),
        lanes=lanes,
        jobs_total=int(lanes[0].job["total_jobs"]) if lanes else 0,
        causes=results["host_failure_causes"],
        failing_hosts=capped(results["failing_hosts"], "total_hosts"),
        failed_steps=steps,
        failed_steps_total=int(steps[0].step["total_failed_steps"]) if steps else 0,
        fetch_errors=results["fetch_errors_by_kind"],
        host_logs=results.get("failed_host_logs", []),
        run=read_manifest(dataset.root),
        charts=make_charts(window, results) if has_data else {},
        notes=list(dataset.notes),
    )


def default_title(window: Window) -> str:
    """``Incident 2026-11-29 09:00 to 11:30 (+08:00)`` and the job filter."""
    since, until = window.local(window.since), window.local(window.until)
    end = f"{until:%H:%M}" if until.date() == since.date() else f"{until:%Y-%m-%d %H:%M}"
    title = f"Incident {since:%Y-%m-%d %H:%M} to {end} ({when(since, window.tz.key)[-6:]})"
    return f"{title}, {window.filters}" if window.filters else title


def window_comparison(window: Window, rows: list[Row]) -> Comparison:
    """The window against the span before (rows of compare.sql: 'before', then 'window')."""
    by_period = {r["period"]: r for r in rows}
    tz = window.tz.key
    before = f"{when(window.before, tz)} to {when(window.since, tz)}"
    note = f"The window against the same span before it: {before}."
    return comparison(by_period["before"], by_period["window"], "Span before", "Window", note)


def group_lanes(rows: list[Row]) -> list[Lane]:
    """The rows of timeline.sql grouped by lane, in lane order."""
    lanes: dict[int, Lane] = {}
    for row in rows:
        lanes.setdefault(row["lane"], Lane(job=row, steps=[])).steps.append(row)
    return [lanes[k] for k in sorted(lanes)]


def make_charts(window: Window, results: dict[str, list[Row]]) -> dict[str, Chart]:
    """The incident page's charts that have data, by id."""
    made = {
        "timeline": (
            "Timeline: one lane per job, bars coloured by outcome",
            incident_charts.timeline(results["timeline"], window.since, window.until, window.tz),
        ),
        "failed_by_name": (
            "Failed steps by step name: the window against the span before",
            incident_charts.failed_by_name(results["compare_by_step_name"]),
        ),
        "causes": ("Host failures by cause", charts.failure_causes(results["host_failure_causes"])),
    }
    return {k: Chart(id=k, title=t, svg=svg) for k, (t, svg) in made.items() if svg is not None}
