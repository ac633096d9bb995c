"""Reading the Delta tables without Spark: the files of their newest version.

DuckDB's ``delta`` extension is downloaded on first use, which these machines cannot do, so
readers here ask ``deltalake`` for the table's current files (``file_uris()``: files that a
merge removed stay on disk until a VACUUM, so a plain ``**/*.parquet`` glob over a Delta table
would see old rows too) and read those as a Hive-partitioned Parquet dataset (the writer,
delta-rs, lays partitions out as ``bk_biz_id=N/day=YYYY-MM-DD/``):

    con.execute(f"CREATE VIEW steps AS SELECT * FROM {parquet_scan('OUT/steps')}")  # DuckDB
    arrow_dataset("OUT/steps").to_table()                                           # pyarrow
    polars.read_delta("OUT/steps")                                                  # Polars

(DuckDB over ``arrow_dataset`` works too, but its filter push-down into pyarrow fails on
string columns with DuckDB 1.4+/pyarrow 21+: "no kernel matching (string, string_view)".)
"""

from __future__ import annotations

from pathlib import Path

import pyarrow.dataset as ds

DELTA_LOG = "_delta_log"


def is_delta(folder: str | Path) -> bool:
    """True when ``folder`` (local) holds a Delta table."""
    return (Path(folder) / DELTA_LOG).is_dir()


def file_uris(uri: str | Path, storage_options: dict[str, str] | None = None) -> list[str]:
    """The data files of the newest version of the Delta table at ``uri``."""
    from deltalake import DeltaTable

    return list(DeltaTable(str(uri), storage_options=storage_options).file_uris())


def parquet_scan(uri: str | Path, storage_options: dict[str, str] | None = None) -> str | None:
    """A DuckDB ``read_parquet(...)`` of the table's current files; None when it has none."""
    files = file_uris(uri, storage_options)
    if not files:
        return None
    quoted = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    return f"read_parquet([{quoted}], hive_partitioning = true)"


def arrow_dataset(uri: str | Path, storage_options: dict[str, str] | None = None) -> ds.Dataset:
    """The newest version of the Delta table at ``uri`` as a pyarrow dataset."""
    from deltalake import DeltaTable

    table = DeltaTable(str(uri), storage_options=storage_options)
    dataset: ds.Dataset = table.to_pyarrow_dataset()
    return dataset
