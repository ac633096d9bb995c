"""The ``jobs`` rows of a Delta commit, derived like the local writer's (pipeline/jobs.py).

After ``steps`` is committed, every touched job (jobs of this run's step rows, jobs of step
rows the commit dropped, jobs the caller names) is derived from its step rows in the newest
``steps`` version; its name, operator and create time come from this run's job answers,
else from its current ``jobs`` row. A touched job without step rows left loses its row.

Delta has no transaction across tables: ``jobs`` is committed after ``steps``. With several
writers on the same jobs at once (overlapping ID lists; shards never overlap), a ``jobs``
row may be derived from a ``steps`` version that misses the other writer's newest steps;
the next run that touches the job corrects it.
"""

from __future__ import annotations

from collections.abc import Collection

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from pipeline.delta.tables import DeltaStore, read_rows
from pipeline.jobs import INFO_COLUMNS, STEP_COLUMNS, derive_jobs, latest_info
from pipeline.schema import JOBS, STEPS


def _isin(column: str, values: Collection[object]) -> pc.Expression:
    return ds.field(column).isin(pa.array(list(values), pa.int64()))


def jobs_of_steps(store: DeltaStore, step_ids: Collection[object]) -> set[int]:
    """The jobs that the current ``steps`` rows of ``step_ids`` belong to."""
    if not step_ids:
        return set()
    rows = read_rows(store, STEPS, ["job_instance_id"], _isin("step_instance_id", step_ids))
    return set(pc.unique(rows.column("job_instance_id")).to_pylist())


def derive(store: DeltaStore, touched: set[int], staged_info: pa.Table, run_id: str) -> pa.Table:
    """The new ``jobs`` rows of the ``touched`` jobs (those with steps left)."""
    if not touched:
        return JOBS.schema.empty_table()
    steps = read_rows(store, STEPS, list(STEP_COLUMNS), _isin("job_instance_id", touched))
    info = latest_info(staged_info)
    have = set(info.column("job_instance_id").to_pylist())
    missing = touched - have
    cols = ["job_instance_id", *INFO_COLUMNS]
    if missing:
        old = read_rows(store, JOBS, cols, _isin("job_instance_id", missing))
        info = pa.concat_tables([info.cast(old.schema), old])
    return derive_jobs(steps, info, run_id)
