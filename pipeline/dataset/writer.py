"""DatasetWriter: stream rows into staging, checkpoint them, commit them into OUT.

OUT/.lock                       flock of the one writer (holds its pid)
OUT/_journal.json               only while a commit is being applied
OUT/_staging/files/*.tmp        this run's finished and open files
OUT/_staging/ckpt-NNNNNN.json   checkpoints (for --resume)
OUT/_staging/work/*.tmp         rewritten copies of existing files, made by commit
OUT/<table>/...                 the published datasets
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Literal

from pipeline.dataset import journal
from pipeline.dataset.csvfmt import CsvFormat
from pipeline.dataset.derive import DeriveInputs, jobs_rows
from pipeline.dataset.formats import FileFormat
from pipeline.dataset.fsutil import os_errors, remove_tree, unlink_quietly
from pipeline.dataset.keys import Key
from pipeline.dataset.parquetfmt import ParquetFormat
from pipeline.dataset.partition import split
from pipeline.dataset.plan import CommitPlan, finish_prepared, plan_table, scan_table
from pipeline.dataset.staged import StagingWriter
from pipeline.dataset.staging import StagedFile, StagedWriters
from pipeline.errors import OutputError
from pipeline.schema import JOBS, TABLES

STAGING = "_staging"
Format = Literal["parquet", "csv"]


class DatasetWriter(StagingWriter):
    """The only writer of an output folder's table datasets; use it as a context manager."""

    def __init__(
        self,
        out_dir: str | Path,
        *,
        run_id: str,
        fmt: Format = "parquet",
        resume: bool = False,
        max_rows_per_file: int = 1_000_000,
        csv_bom: bool = False,
        csv_raw: bool = False,
    ) -> None:
        if fmt not in ("parquet", "csv"):
            raise ValueError(f"unknown format {fmt!r}")
        self.out = Path(out_dir)
        file_format: FileFormat = (
            CsvFormat(bom=csv_bom, raw=csv_raw) if fmt == "csv" else ParquetFormat()
        )
        super().__init__(run_id=run_id, staging=self.out / STAGING, fmt=file_format,
                         resume=resume, max_rows_per_file=max_rows_per_file)  # fmt: skip
        #: called with a phase name at each step of a commit; tests raise from it to crash
        self.fault_hook: Callable[[str], None] = _no_hook

    # -- context -------------------------------------------------------------------------

    def _lock_dir(self) -> Path:
        if self.out.exists() and not self.out.is_dir():
            raise OutputError(f"{self.out}: not a folder")
        with os_errors(self.out):
            self.out.mkdir(parents=True, exist_ok=True)
        return self.out

    def _recover(self) -> None:
        journal.roll_forward(self.out, self._staging, self.fault_hook)
        unlink_quietly(self.out / (journal.JOURNAL + ".tmp"))  # a journal never finished
        for name, spec in TABLES.items():
            # fail before a long fetch, not at its commit, on a misplaced file or folder
            scan_table(self.out / name, spec, self._fmt)

    def _clear_staging(self) -> None:
        remove_tree(self._staging)

    def _discard_leftovers(self) -> None:
        remove_tree(self._staging / "work")

    def _abandon_staging(self) -> None:
        # no journal that still needs the staged files; a failure here is not the news
        if not (self.out / journal.JOURNAL).exists():
            with contextlib.suppress(OutputError):
                remove_tree(self._staging)

    # -- commit --------------------------------------------------------------------------

    def commit(self, replace: Mapping[str, Collection[tuple[object, ...]]]) -> dict[str, int]:
        """Publish the staged rows, first dropping existing rows whose keys are replaced.

        The keys of this run's own rows are always replaced too, so a commit never
        duplicates a row it publishes. Returns the rows published per table.
        """
        writers, wanted = self._begin_commit(replace)
        plan = CommitPlan(self.out, self._files_dir, self._staging / "work", self._fmt)
        remove_tree(plan.work_dir)  # copies left by a commit that failed before its journal
        with os_errors(plan.work_dir):
            plan.work_dir.mkdir()
        replaced = {t: self._keys[t] | wanted.get(t, set()) for t in TABLES}
        for name, spec in TABLES.items():
            if spec is not JOBS:
                staged = [f for f in self._files if f.table == name]
                plan_table(plan, spec, staged, replaced[name])
        # last: it reads the step rows that the plan above keeps
        jobs, touched = self._derive_jobs(writers, replaced["steps"], wanted)
        plan_table(plan, JOBS, jobs, touched)
        finish_prepared(plan)
        self.fault_hook("prepared")
        journal.write_journal(self.out, self.run_id, plan.actions)
        self.fault_hook("journal written")
        journal.apply(self.out, plan.actions, self.fault_hook)
        self.fault_hook("applied")
        journal.finish(self.out, self._staging, self.fault_hook)
        counts = {t: sum(f.rows for f in [*self._files, *jobs] if f.table == t) for t in TABLES}
        self._restart(writers)
        return counts

    def _derive_jobs(
        self, writers: StagedWriters, steps: set[Key], wanted: Mapping[str, set[Key]]
    ) -> tuple[list[StagedFile], set[Key]]:
        """Stage the new ``jobs`` rows of the jobs this commit touches (see derive.py)."""
        inputs = DeriveInputs(self.out, self._files_dir, self._fmt, self._files, steps,
                              wanted.get(JOBS.name, set()))  # fmt: skip
        rows, touched = jobs_rows(inputs, self.run_id)
        for batch in rows.to_batches():
            for partition, part in split(batch, JOBS):
                writers.write(JOBS, partition, part)
        return writers.take_finished(), touched


def _no_hook(phase: str) -> None:
    pass
