"""The report's context: every figure the templates show, built from the metric queries.

``report.html`` gets exactly one :class:`ReportContext`; templates only format and lay out
what is here (StrictUndefined makes a missing field an error, not a blank).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from markupsafe import Markup

from pipeline.report.formatting import num, pct, raw
from pipeline.report.manifest import RunInfo
from pipeline.report.metrics import Row

#: the definitions printed in the footer (CONTRACT sections 5 and 6)
DEFINITIONS: tuple[tuple[str, str], ...] = (
    ("Jobs", "distinct job instances (job_instance_id) in steps."),
    ("Steps", "distinct step instances (step_instance_id) in steps."),
    ("Hosts", "distinct (bk_cloud_id, ip) pairs in step_hosts."),
    (
        "Step failure rate",
        "steps with outcome failed / steps with outcome success or failed; "
        "n/a when there are none.",
    ),
    (
        "Host failure rate",
        "host rows (one per step and host) with outcome failed / host rows with outcome "
        "success or failed; n/a when there are none.",
    ),
    (
        "Outcomes",
        "failed includes Ignore Error (the step failed and someone went on), Abnormal and "
        "Terminate Failed. Stopped and skipped steps and hosts are counted on their own and "
        "are in neither rate.",
    ),
    (
        "Durations",
        "total_time_s of steps that ran to an end (finished, not skipped). Percentiles are "
        "continuous with linear interpolation (percentile_cont).",
    ),
)

#: definitions of the nightly report only
NIGHTLY_DEFINITIONS: tuple[tuple[str, str], ...] = (
    (
        "Day, night",
        "the day partition: a step's start date in the API time zone (its fetch date when it "
        "has not started). The latest day is compared with the previous day that has data.",
    ),
    (
        "Nights in a row",
        "the days, ending at the latest day of the dataset, on each of which the host had a "
        "failed result; a day on which it did not fail (or was not a target) ends the run, a "
        "day with no step at all in the dataset does not.",
    ),
    (
        "Failure causes",
        "failed host results grouped by result code: agent down (1, 12, 18, 310), timeout "
        "(13, 16, 17, 102, 303), script non-zero exit (15, 101, 104), file transfer (202, 203, "
        "301, 320, 321, 329), account/permission (311, 312), other (any other failed code).",
    ),
)

#: (name, label, kind) of the figures two periods are compared on
COMPARED: tuple[tuple[str, str, Literal["count", "rate"]], ...] = (
    ("jobs", "Jobs", "count"),
    ("steps", "Steps", "count"),
    ("hosts", "Hosts", "count"),
    ("steps_failed", "Failed steps", "count"),
    ("hosts_failed", "Failed host results", "count"),
    ("step_failure_rate", "Step failure rate", "rate"),
    ("host_failure_rate", "Host failure rate", "rate"),
)


@dataclass(frozen=True)
class Metric:
    """A headline figure; shown with ``data-metric=name`` and ``data-value=data_value``."""

    name: str
    label: str
    value: int | float | None
    kind: Literal["count", "rate"]
    #: a line under the figure, e.g. "12 failed of 164"
    detail: str = ""

    @property
    def data_value(self) -> str:
        return raw(self.value)

    @property
    def text(self) -> str:
        return pct(self.value) if self.kind == "rate" else num(self.value)


@dataclass(frozen=True)
class Capped:
    """A top-N table: the rows shown and how many rows there are in all."""

    rows: list[Row]
    total: int

    @property
    def capped(self) -> bool:
        return self.total > len(self.rows)


@dataclass(frozen=True)
class Breakdown:
    """Step and host failure rates per value of one dimension (``failure_by_*.sql``)."""

    id: str
    title: str
    #: the column that names the group, and its heading
    key: str
    key_label: str
    table: Capped


@dataclass(frozen=True)
class FailedStep:
    """A failed step (``failed_steps.sql``) and the failing hosts shown for it."""

    step: Row
    hosts: list[Row]

    @property
    def more_hosts(self) -> int:
        return max(int(self.step["hosts_failed"] or 0) - len(self.hosts), 0)


@dataclass(frozen=True)
class Chart:
    """An inline SVG chart made by :mod:`pipeline.report.charts`."""

    id: str
    title: str
    svg: Markup
    caption: str = ""


@dataclass(frozen=True)
class Change:
    """One figure in two periods: ``before`` and ``after`` (the later one)."""

    name: str
    label: str
    kind: Literal["count", "rate"]
    before: int | float | None
    after: int | float | None

    @property
    def delta(self) -> int | float | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before

    @property
    def worse(self) -> bool:
        """True for a failure figure that went up."""
        failures = self.kind == "rate" or self.name.endswith("_failed")
        return failures and (self.delta or 0) > 0


@dataclass(frozen=True)
class Comparison:
    """Two periods side by side (the nightly's latest day, the incident's window)."""

    before_label: str
    after_label: str
    changes: list[Change]
    #: what the two periods are, in a sentence
    note: str = ""


def comparison(
    before: Row, after: Row, before_label: str, after_label: str, note: str = ""
) -> Comparison:
    """The :data:`COMPARED` figures of two rows (of rates_by_day.sql or compare.sql)."""
    changes = [Change(n, label, kind, before[n], after[n]) for n, label, kind in COMPARED]
    return Comparison(before_label, after_label, changes, note)


@dataclass(frozen=True)
class ReportContext:
    """Everything ``report.html`` shows."""

    title: str
    generated_at: datetime
    #: the dataset folder and its format, e.g. "out (parquet)"
    source: str
    #: False for a dataset with no steps and no host rows: the page says "no data"
    has_data: bool
    headline: list[Metric]
    #: the headline row of headline.sql (all counts per outcome, first start, last end)
    totals: Row
    outcome_counts: list[Row]
    breakdowns: list[Breakdown]
    durations: Capped
    histogram: list[Row]
    slowest: Capped
    failing_hosts: Capped
    failed_steps: list[FailedStep]
    failed_steps_total: int
    causes: list[Row]
    by_day: list[Row]
    fetch_errors: list[Row]
    run: RunInfo
    #: the latest day against the previous day with data; None with fewer than two days
    comparison: Comparison | None = None
    charts: dict[str, Chart] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    definitions: tuple[tuple[str, str], ...] = DEFINITIONS + NIGHTLY_DEFINITIONS
    #: the zone times are shown in; None: UTC
    tz: str | None = None
    #: rows of failed_host_logs.sql: log tails of failing hosts (runs with --with-logs)
    host_logs: list[Row] = field(default_factory=list)


def headline_metrics(h: Row) -> list[Metric]:
    """The five CONTRACT section 6 figures from the row of ``headline.sql``."""
    step_base = h["steps_success"] + h["steps_failed"]
    host_base = h["hosts_success"] + h["hosts_failed"]
    return [
        Metric("jobs", "Jobs", h["jobs"], "count", "distinct job instances"),
        Metric("steps", "Steps", h["steps"], "count", "distinct step instances"),
        Metric("hosts", "Hosts", h["hosts"], "count", f"{num(h['host_rows'])} host results"),
        Metric(
            "step_failure_rate",
            "Step failure rate",
            h["step_failure_rate"],
            "rate",
            f"{num(h['steps_failed'])} failed of {num(step_base)} success or failed",
        ),
        Metric(
            "host_failure_rate",
            "Host failure rate",
            h["host_failure_rate"],
            "rate",
            f"{num(h['hosts_failed'])} failed of {num(host_base)} success or failed",
        ),
    ]


def capped(rows: list[Row], total_column: str) -> Capped:
    """``rows`` with the total that the query's ``total_column`` carries (0 when empty)."""
    return Capped(rows=rows, total=int(rows[0][total_column]) if rows else 0)


BREAKDOWNS: tuple[tuple[str, str, str, str], ...] = (
    ("failure_by_step_name", "By step name", "name", "Step name"),
    ("failure_by_step_type", "By step type", "step_type_name", "Step type"),
    ("failure_by_business", "By business", "bk_biz_id", "Business (bk_biz_id)"),
    ("failure_by_operator", "By operator", "operator", "Operator"),
)


def breakdowns(results: dict[str, list[Row]]) -> list[Breakdown]:
    return [
        Breakdown(id=q, title=t, key=k, key_label=label, table=capped(results[q], "total_groups"))
        for q, t, k, label in BREAKDOWNS
    ]


def failed_steps(rows: list[Row]) -> list[FailedStep]:
    """Group the (step, host) rows of ``failed_steps.sql`` by step, keeping their order."""
    grouped: dict[int, FailedStep] = {}
    for row in rows:
        step = grouped.setdefault(row["step_rank"], FailedStep(step=row, hosts=[]))
        if row["host_rank"] is not None:
            step.hosts.append(row)
    return list(grouped.values())
