"""Which writer a run uses: the local dataset writer (Parquet/CSV), or the Delta writer
(local or on object storage: ``--out s3://...``, see pipeline/objectstore.py).

All writers have the interface of :class:`TableWriter`; the runner only calls
:func:`open_writer`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Protocol

import pyarrow as pa

from pipeline.config import Settings
from pipeline.errors import UsageError
from pipeline.logs import log
from pipeline.manifest import MANIFEST_NAME, RUNS_DIR
from pipeline.objectstore import NEEDS_DELTA, delta_options, public_uri, publish

#: per-writer staging folders of --format delta, inside a local OUT
DELTA_STAGING = "_delta_staging"


class TableWriter(Protocol):
    """What the runner needs from a writer (see pipeline/dataset/writer.py)."""

    def __enter__(self) -> TableWriter: ...

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None: ...  # fmt: skip

    def write(self, table: str, batch: pa.RecordBatch) -> None: ...

    def write_job_info(self, batch: pa.RecordBatch) -> None: ...

    def checkpoint(self, done_items: Iterable[str]) -> None: ...

    def resumed_items(self) -> set[str]: ...

    def commit(self, replace: Mapping[str, Collection[tuple[object, ...]]]) -> dict[str, int]: ...


def staging_name(settings: Settings) -> str:
    """One staging folder per shard, so the shards of a night can share an OUT."""
    shard = settings.shard
    return f"shard-{shard.index}-of-{shard.count}" if shard else "all"


def open_writer(settings: Settings, run_id: str) -> TableWriter:
    """The writer for ``settings.out`` and ``settings.format`` (not yet entered)."""
    if settings.out_uri and settings.format != "delta":
        raise UsageError(f"--out {public_uri(settings.out_uri)}: {NEEDS_DELTA}")
    if settings.format == "delta":
        try:
            from pipeline.delta.tables import DeltaStore
            from pipeline.delta.writer import DeltaWriter
        except ImportError as exc:
            raise UsageError(
                f"--format delta needs the deltalake package ({exc}): "
                "pip install 'bkjob-export[delta]'"
            ) from None
        root = Path(settings.out).absolute()
        store = DeltaStore(root.as_posix())
        if settings.out_uri:
            store = DeltaStore(settings.out_uri.rstrip("/"), storage_options=delta_options())
        staging = root / DELTA_STAGING / staging_name(settings)
        return DeltaWriter(store, run_id=run_id, staging=staging, resume=settings.resume)
    from pipeline.dataset import DatasetWriter

    return DatasetWriter(settings.out, run_id=run_id, fmt=settings.format,
                         resume=settings.resume, csv_bom=settings.csv_bom,
                         csv_raw=settings.csv_raw)  # fmt: skip


def publish_run(settings: Settings, run_id: str) -> None:
    """For an object-storage OUT: upload the run's manifest files from the working folder."""
    if not settings.out_uri:
        return
    names = [MANIFEST_NAME, f"{RUNS_DIR}/{run_id}.json"]
    publish(settings.out_uri, Path(settings.out), names)
    log.info("manifest uploaded to %s (working folder %s); the HTML report is not rendered "
             "for object storage: query the tables with Spark or Trino (docs/scale.md)",
             public_uri(settings.out_uri), settings.out)  # fmt: skip
