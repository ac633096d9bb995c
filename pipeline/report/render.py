"""``render_report``: dataset -> DuckDB views -> metric queries -> context -> HTML file."""

from __future__ import annotations

import os
from contextlib import suppress
from dataclasses import fields
from datetime import UTC, datetime
from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from pipeline.errors import OutputError
from pipeline.report import charts
from pipeline.report.context import (
    Chart,
    ReportContext,
    breakdowns,
    capped,
    failed_steps,
    headline_metrics,
)
from pipeline.report.dataset import Dataset, connect, locate
from pipeline.report.formatting import FILTERS, when
from pipeline.report.manifest import read_manifest
from pipeline.report.metrics import Row, run_metrics
from pipeline.resources import templates_dir

DEFAULT_TITLE = "bk-job results"
REPORT_NAME = "report.html"


@cache
def environment(folder: Path) -> Environment:
    """The one Jinja environment for the templates in ``folder`` (built once per folder)."""
    env = Environment(
        loader=FileSystemLoader(folder),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(FILTERS)
    return env


def render_report(
    data_dir: str | Path, html: str | Path | None = None, *, title: str | None = None
) -> Path:
    """Render the HTML report of the dataset in ``data_dir``; return the file written.

    The file is ``data_dir/report.html`` unless ``html`` names another; it is written under a
    temporary name and renamed into place. Raises :class:`~pipeline.errors.UsageError` when
    ``data_dir`` is missing or holds no dataset, :class:`~pipeline.errors.OutputError` when
    the files cannot be read or the report cannot be written. An empty dataset gives a
    "no data" page.
    """
    dataset = locate(data_dir)
    target = Path(html) if html is not None else dataset.root / REPORT_NAME
    con = connect(dataset)
    try:
        results = run_metrics(con, dataset)
    finally:
        con.close()
    context = build_context(dataset, results, title=title)
    write_atomic(target, render_html(context))
    return target


def render_html(context: ReportContext) -> str:
    """``report.html`` rendered with ``context``."""
    template = environment(templates_dir()).get_template("report.html")
    return template.render({f.name: getattr(context, f.name) for f in fields(context)})


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
        run=read_manifest(dataset.root),
        charts=make_charts(results) if has_data else {},
        notes=list(dataset.notes),
    )


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


def write_atomic(target: Path, text: str) -> None:
    """Write ``text`` to ``target`` through a temporary file in the same folder and a rename."""
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, target)
    except OSError as exc:
        with suppress(OSError):
            tmp.unlink()
        raise OutputError(f"{target}: cannot write the report: {exc.strerror or exc}") from exc
