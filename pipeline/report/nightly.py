"""The nightly report: the whole dataset's figures -> :class:`ReportContext`."""

from __future__ import annotations

from datetime import UTC, date, datetime

from pipeline.report import charts
from pipeline.report.context import (
    Chart,
    Comparison,
    ReportContext,
    breakdowns,
    capped,
    comparison,
    failed_steps,
    headline_metrics,
)
from pipeline.report.dataset import Dataset, connect
from pipeline.report.formatting import when
from pipeline.report.manifest import read_manifest
from pipeline.report.metrics import Row, run_metrics

DEFAULT_TITLE = "bk-job results"


def nightly_context(dataset: Dataset, title: str | None = None) -> ReportContext:
    """Run every ``sql/metrics`` query over ``dataset`` and build the nightly page's context."""
    con = connect(dataset)
    try:
        results = run_metrics(con, dataset)
    finally:
        con.close()
    return build_context(dataset, results, title=title)


def build_context(
    dataset: Dataset, results: dict[str, list[Row]], *, title: str | None = None
) -> ReportContext:
    """The report's context from the metric query rows (see ``sql/metrics``)."""
    head = results["headline"][0]
    has_data = bool(head["steps"] or head["host_rows"])
    steps = failed_steps(results["failed_steps"])
    return ReportContext(
        title=title or default_title(head),
        generated_at=datetime.now(UTC),
        source=f"{dataset.root.name or dataset.root} ({dataset.format})",
        has_data=has_data,
        headline=headline_metrics(head),
        totals=head,
        outcome_counts=results["outcome_counts"],
        breakdowns=breakdowns(results),
        durations=capped(results["duration_by_step_name"], "total_groups"),
        histogram=results["duration_histogram"],
        slowest=capped(results["slowest_steps"], "total_steps"),
        failing_hosts=capped(results["failing_hosts"], "total_hosts"),
        failed_steps=steps,
        failed_steps_total=int(steps[0].step["total_failed_steps"]) if steps else 0,
        causes=results["host_failure_causes"],
        by_day=results["rates_by_day"],
        fetch_errors=results["fetch_errors_by_kind"],
        host_logs=results.get("failed_host_logs", []),
        run=read_manifest(dataset.root),
        comparison=latest_day(results["rates_by_day"]),
        charts=make_charts(results) if has_data else {},
        notes=list(dataset.notes),
    )


def latest_day(by_day: list[Row]) -> Comparison | None:
    """The latest day with results against the previous one (rows of rates_by_day.sql).

    A day counts when it has a step that succeeded or failed: steps that have not started
    sit in the partition of their fetch date, and a day of those alone has nothing to compare.
    """
    days = [r for r in by_day if r["day"] is not None and _decided(r)]
    if len(days) < 2:
        return None
    after, before = days[0], days[1]
    gap = _days_between(str(before["day"]), str(after["day"]))
    note = (
        f"{after['day']}, the latest day with results, against the day before."
        if gap == 1
        else f"{after['day']}, the latest day with results, against {before['day']}, the "
        "previous day with results."
    )
    return comparison(before, after, str(before["day"]), str(after["day"]), note)


def _decided(row: Row) -> bool:
    return bool((row["steps_success"] or 0) + (row["steps_failed"] or 0))


def _days_between(first: str, second: str) -> int | None:
    try:
        return (date.fromisoformat(second) - date.fromisoformat(first)).days
    except ValueError:
        return None


def default_title(head: Row) -> str:
    """``bk-job results`` and the span of step times when there is one."""
    first, last = head["first_start"], head["last_end"]
    if first is None:
        return DEFAULT_TITLE
    return f"{DEFAULT_TITLE}, {when(first)[:10]} to {when(last or first)[:10]}"


def make_charts(results: dict[str, list[Row]]) -> dict[str, Chart]:
    """The charts that have data, by id."""
    made = {
        "failure_by_step_name": (
            "Step failure rate by step name",
            charts.failure_rate_by(results["failure_by_step_name"], "name", "step name"),
        ),
        "failure_by_business": (
            "Step failure rate by business",
            charts.failure_rate_by(results["failure_by_business"], "bk_biz_id", "business"),
        ),
        "rates_by_day": ("Failure rate per day", charts.rates_by_day(results["rates_by_day"])),
        "causes": ("Host failures by cause", charts.failure_causes(results["host_failure_causes"])),
        "duration_histogram": (
            "Steps per duration band",
            charts.duration_histogram(results["duration_histogram"]),
        ),
        "duration_percentiles": (
            "Duration percentiles by step name",
            charts.duration_percentiles(results["duration_by_step_name"]),
        ),
    }
    return {k: Chart(id=k, title=t, svg=svg) for k, (t, svg) in made.items() if svg is not None}
