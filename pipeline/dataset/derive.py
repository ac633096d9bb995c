"""The commit's derived-table step: the new ``jobs`` rows of every job the commit touches.

Touched jobs: the jobs of this run's staged step rows, the jobs of old step rows the commit
drops without new ones, any job the caller names, and - once, for an OUT written before
``jobs`` existed (no ``jobs`` folder) - every job in ``steps``. A touched job's row is
derived (:func:`pipeline.jobs.derive_jobs`) from its old step rows that stay plus the staged
ones; its name, operator and create time come from this run's staged job answers, else from
its old ``jobs`` row. The commit then replaces the touched jobs' old rows with these, in the
same journal as the steps they follow.

Only files whose row-group statistics may hold a touched job are read (Parquet), and of those
only the needed columns. Nothing under OUT changes here.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.dataset.formats import FileFormat
from pipeline.dataset.keys import Key, KeyMatcher
from pipeline.dataset.plan import scan_table
from pipeline.dataset.staging import StagedFile
from pipeline.errors import OutputError
from pipeline.jobs import INFO_COLUMNS, STEP_COLUMNS, derive_jobs, empty_info, latest_info
from pipeline.schema import JOB_INFO, JOBS, STEPS, TableSpec


@dataclass(frozen=True)
class DeriveInputs:
    out: Path
    staged_dir: Path
    fmt: FileFormat
    #: every file this run staged (steps and job_info are read)
    staged: list[StagedFile]
    #: the step keys whose old rows the commit drops (this run's own keys included)
    replaced_steps: Collection[Key]
    #: jobs to recompute even if no step of theirs changes
    extra_jobs: Collection[Key] = ()


def read_part(
    fmt: FileFormat, spec: TableSpec, path: Path, partition: tuple[str, ...], columns: list[str]
) -> pa.Table:
    """``columns`` of one file, partition columns taken from its folder names."""
    in_file = [c for c in columns if c not in spec.partition_by]
    table = fmt.read_columns(path, spec.file_schema, in_file)
    n = table.num_rows
    for seg in partition:
        col, _, text = seg.partition("=")
        if col in columns:
            try:
                arr = pa.array([text] * n, pa.string()).cast(spec.schema.field(col).type)
            except pa.ArrowInvalid as exc:
                raise OutputError(f"{path.parent}: bad partition value {text!r}") from exc
            table = table.append_column(col, arr)
    return table.select(columns)


def _staged(inputs: DeriveInputs, spec: TableSpec, columns: list[str]) -> pa.Table:
    parts = [
        read_part(inputs.fmt, spec, inputs.staged_dir / f.staged_name, f.partition, columns)
        for f in inputs.staged
        if f.table == spec.name
    ]
    schema = pa.schema([spec.schema.field(c) for c in columns])
    return pa.concat_tables(parts) if parts else schema.empty_table()


def _existing(
    inputs: DeriveInputs, spec: TableSpec, matcher: KeyMatcher | None, columns: list[str]
) -> Iterator[pa.Table]:
    """``columns`` of the published files of ``spec`` that may hold a key of ``matcher``
    (every file when ``matcher`` is None)."""
    prune = matcher.prune_col if matcher else None
    for ef in scan_table(inputs.out / spec.name, spec, inputs.fmt):
        if ef.placeholder:
            continue
        facts = inputs.fmt.inspect(ef.path, spec.file_schema, prune)
        if matcher is None or matcher.may_match(facts):
            yield read_part(inputs.fmt, spec, ef.path, ef.partition, columns)


def _jobs_of_dropped(inputs: DeriveInputs, staged_steps: set[Key]) -> set[Key]:
    """Jobs of old step rows that the commit drops and this run does not write again."""
    dropped = set(inputs.replaced_steps) - staged_steps
    if not dropped:
        return set()
    matcher = KeyMatcher(STEPS, dropped)
    found: set[Key] = set()
    for part in _existing(inputs, STEPS, matcher, ["step_instance_id", "job_instance_id"]):
        hit = matcher.match(part.select(["step_instance_id"]))
        found |= _keys(part.filter(hit).column("job_instance_id"))
    return found


def _keys(column: pa.ChunkedArray | pa.Array) -> set[Key]:
    return {(v,) for v in pc.unique(column).to_pylist()}


def _old_steps(inputs: DeriveInputs, touched: set[Key] | None) -> Iterator[pa.Table]:
    """Old step rows of the touched jobs (all jobs when None) that the commit keeps."""
    jobs = KeyMatcher(JOBS, touched) if touched is not None else None
    replaced = KeyMatcher(STEPS, inputs.replaced_steps)
    for part in _existing(inputs, STEPS, jobs, list(STEP_COLUMNS)):
        keep = pc.invert(replaced.match(part.select(["step_instance_id"])))
        if jobs is not None:
            keep = pc.and_(keep, jobs.match(part.select(["job_instance_id"])))
        yield part.filter(keep)


def _info(inputs: DeriveInputs, touched: set[Key] | None) -> pa.Table:
    """Name, operator, create time per touched job: staged answers first, else old rows."""
    cols = ["job_instance_id", *INFO_COLUMNS]
    staged = latest_info(_staged(inputs, JOB_INFO, [*cols, "fetched_at"]))
    have = _keys(staged.column("job_instance_id"))
    missing = None if touched is None else touched - have
    if missing is not None and not missing:
        return staged
    matcher = KeyMatcher(JOBS, missing) if missing is not None else None
    old = [staged]
    for part in _existing(inputs, JOBS, matcher, cols):
        ids = pa.array([k[0] for k in have], pa.int64())
        known = pc.is_in(part.column("job_instance_id"), value_set=ids)
        old.append(part.filter(pc.invert(known)).cast(empty_info().schema))
    return pa.concat_tables(old)


def jobs_rows(inputs: DeriveInputs, run_id: str) -> tuple[pa.Table, set[Key]]:
    """The new ``jobs`` rows, and the keys of the jobs they replace (touched jobs)."""
    staged = _staged(inputs, STEPS, list(STEP_COLUMNS))
    backfill = not (inputs.out / JOBS.name).is_dir()
    staged_steps = _keys(staged.column("step_instance_id"))
    touched: set[Key] | None = None
    if not backfill:
        touched = _keys(staged.column("job_instance_id")) | set(inputs.extra_jobs)
        touched |= _jobs_of_dropped(inputs, staged_steps)
    steps = pa.concat_tables([*_old_steps(inputs, touched), staged])
    rows = derive_jobs(steps, _info(inputs, touched), run_id)
    if touched is None:
        touched = _keys(rows.column("job_instance_id"))
    return rows, touched
