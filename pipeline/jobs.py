"""The ``jobs`` table: one row per job instance, computed from its ``steps`` rows.

Pure Arrow in, Arrow out; the dataset writer calls :func:`derive_jobs` inside its commit with
every step row of the jobs the commit touches (old rows that stay plus this run's), so
``jobs`` never disagrees with ``steps``. Definitions (also in docs/schema.md):

- ``steps_<outcome>``: steps per outcome (CONTRACT section 5);
- ``worst_outcome``: the first outcome of :data:`pipeline.schema.WORST_FIRST` any step has;
- ``total_time_s``: the sum of the steps' ``total_time_s``; ``span_s``: last end - first start;
- ``day``: the ``day`` of its earliest-starting step (a step's ``day`` is its start date in
  the API's zone); when no step started, the smallest ``day`` of its steps (fetch dates).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.codes import OUTCOMES
from pipeline.schema import JOB_INFO, JOBS, STEPS, WORST_FIRST

#: the ``steps`` columns the derivation reads
STEP_COLUMNS: tuple[str, ...] = (
    "bk_biz_id",
    "job_instance_id",
    "step_instance_id",
    "outcome",
    "is_finished",
    "start_time",
    "end_time",
    "total_time_s",
    "fetched_at",
    "day",
)
#: the job-level columns that come from job answers rather than from steps
INFO_COLUMNS: tuple[str, ...] = ("name", "operator", "create_time")

_UNKNOWN_RANK = WORST_FIRST.index("unknown")


def step_schema() -> pa.Schema:
    return pa.schema([STEPS.schema.field(c) for c in STEP_COLUMNS])


def _prepared(steps: pa.Table) -> pa.Table:
    """The step rows plus the per-row helpers that the aggregation sums or minimises."""
    rank = pc.fill_null(pc.index_in(steps.column("outcome"), pa.array(WORST_FIRST)), _UNKNOWN_RANK)
    outcome = pa.array(WORST_FIRST).take(rank)  # anything else counts as unknown
    cols: dict[str, pa.Array | pa.ChunkedArray] = {
        "job_instance_id": steps.column("job_instance_id"),
        "bk_biz_id": steps.column("bk_biz_id"),
        "rank": rank,
        "is_finished": steps.column("is_finished"),
        "start_time": steps.column("start_time"),
        "end_time": steps.column("end_time"),
        "total_time_s": steps.column("total_time_s"),
        "fetched_at": steps.column("fetched_at"),
        "day": steps.column("day"),
    }
    for o in OUTCOMES:
        cols[f"steps_{o}"] = pc.cast(pc.equal(outcome, o), pa.int64())
    return pa.table(cols)


def _aggregate(steps: pa.Table) -> pa.Table:
    aggs = [
        ("bk_biz_id", "min"),
        ([], "count_all"),
        *((f"steps_{o}", "sum") for o in OUTCOMES),
        ("is_finished", "all"),
        ("start_time", "min"),
        ("end_time", "max"),
        ("total_time_s", "sum"),
        ("rank", "min"),
        ("fetched_at", "max"),
        ("day", "min"),
    ]
    return _prepared(steps).group_by("job_instance_id", use_threads=False).aggregate(aggs)


def _span_s(first: pa.ChunkedArray, last: pa.ChunkedArray) -> pa.ChunkedArray:
    micros = pc.cast(pc.subtract(last, first), pa.int64())
    return pc.divide(pc.cast(micros, pa.float64()), 1e6)


def _first_start_day(steps: pa.Table, jobs: pa.ChunkedArray) -> pa.ChunkedArray:
    """Per job of ``jobs``: the ``day`` of its earliest-starting step; null if none started."""
    started = steps.filter(pc.is_valid(steps.column("start_time")))
    order = started.sort_by([("job_instance_id", "ascending"), ("start_time", "ascending"),
                             ("day", "ascending")]).select(["job_instance_id", "day"])  # fmt: skip
    ids = order.column("job_instance_id").combine_chunks()
    first = pa.concat_arrays([pa.array([True]), pc.not_equal(ids[1:], ids[:-1])])[: len(ids)]
    firsts = order.filter(first)
    return firsts.column("day").take(pc.index_in(jobs, value_set=firsts.column(0)))


def derive_jobs(steps: pa.Table, info: pa.Table, run_id: str) -> pa.Table:
    """``jobs`` rows for every job in ``steps`` (columns :data:`STEP_COLUMNS`).

    ``info`` holds at most one row per job_instance_id with :data:`INFO_COLUMNS`; jobs it
    lacks get nulls there.
    """
    agg = _aggregate(steps)
    jobs = agg.column("job_instance_id")
    where = pc.index_in(jobs, value_set=info.column("job_instance_id"))
    first, last = agg.column("start_time_min"), agg.column("end_time_max")
    cols: dict[str, pa.ChunkedArray | pa.Array] = {
        "bk_biz_id": agg.column("bk_biz_id_min"),
        "job_instance_id": jobs,
        **{c: info.column(c).take(where) for c in INFO_COLUMNS},
        "steps": agg.column("count_all"),
        **{f"steps_{o}": agg.column(f"steps_{o}_sum") for o in OUTCOMES},
        "is_finished": agg.column("is_finished_all"),
        "first_start": first,
        "last_end": last,
        "total_time_s": agg.column("total_time_s_sum"),
        "span_s": _span_s(first, last),
        "worst_outcome": pa.array(WORST_FIRST).take(agg.column("rank_min")),
        "fetched_at": agg.column("fetched_at_max"),
        "run_id": pa.array([run_id] * agg.num_rows, pa.string()),
        "day": pc.coalesce(_first_start_day(steps, jobs), agg.column("day_min")),
    }
    arrays = [pc.cast(cols[f.name], f.type) for f in JOBS.schema]
    return pa.Table.from_arrays(arrays, schema=JOBS.schema)


def latest_info(info: pa.Table) -> pa.Table:
    """One row per job of ``info`` (JOB_INFO columns): the one fetched last."""
    if info.num_rows == 0:
        return info.select(["job_instance_id", *INFO_COLUMNS])
    order = info.sort_by([("job_instance_id", "ascending"), ("fetched_at", "descending")])
    ids = order.column("job_instance_id").combine_chunks()
    first = pc.not_equal(ids.slice(1), ids.slice(0, len(ids) - 1))
    keep = pa.concat_arrays([pa.array([True]), first.fill_null(True)])
    return order.filter(keep).select(["job_instance_id", *INFO_COLUMNS])


def empty_info() -> pa.Table:
    return JOB_INFO.schema.empty_table().select(["job_instance_id", *INFO_COLUMNS])
