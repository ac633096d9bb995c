"""Find a bkjob-export dataset on disk and open it as DuckDB views (``sql/views.sql``).

A dataset is a folder with ``steps/``, ``step_hosts/`` and ``fetch_errors/``, each holding
``*.parquet`` or ``*.csv`` files (Hive partitions ``bk_biz_id=N/day=YYYY-MM-DD`` for the first
two). The format is detected from the files; a table without files reads as empty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Literal

import duckdb

from pipeline.delta.read import is_delta, parquet_scan
from pipeline.errors import OutputError, UsageError
from pipeline.resources import sql_dir
from pipeline.schema import TABLES

Format = Literal["parquet", "csv", "delta"]
FORMATS: tuple[Format, ...] = ("parquet", "csv")

#: what ``${READ_OPTIONS}`` becomes in ``sql/views.sql``, per format
READ_OPTIONS: dict[Format, str] = {
    "parquet": "",
    "delta": "",  # read through the Delta log: see connect()
    "csv": (
        ", header = true, delim = ',', quote = '\"', escape = '\"', all_varchar = true, "
        "allow_quoted_nulls = false"
    ),
}

#: views computed once per connection into a temp table. CSV datasets cache the typed tables
#: (so the CSV files are parsed once) before an incident window narrows them; the view that
#: many metric queries read is cached after.
CACHED_TABLES: dict[Format, tuple[str, ...]] = {
    "parquet": (),
    "delta": (),
    "csv": ("steps", "step_hosts", "fetch_errors"),
}
CACHED_VIEWS: tuple[str, ...] = ("step_results",)

_SOURCE_VIEW = re.compile(r"CREATE OR REPLACE VIEW (\w+)_files AS", re.IGNORECASE)


@dataclass(frozen=True)
class Dataset:
    """A dataset found on disk."""

    root: Path
    format: Format
    #: the tables that have at least one file of ``format``; the others read as empty
    tables: frozenset[str]
    #: remarks for the report's reader (e.g. files of the other format were ignored)
    notes: tuple[str, ...] = ()


def _has_files(folder: Path, ext: str) -> bool:
    return folder.is_dir() and next(folder.rglob(f"*.{ext}"), None) is not None


def locate(data_dir: str | Path) -> Dataset:
    """The dataset in ``data_dir``; :class:`UsageError` when there is none."""
    root = Path(data_dir).expanduser()
    if not root.is_dir():
        raise UsageError(f"{root}: no such directory")
    root = root.resolve()
    if is_delta(root / "steps"):  # --format delta: tables with files in their newest version
        return Dataset(root, "delta", frozenset(t for t in TABLES if parquet_scan(root / t)))
    found = {fmt: frozenset(t for t in TABLES if _has_files(root / t, fmt)) for fmt in FORMATS}
    usable = [fmt for fmt in FORMATS if found[fmt] & {"steps", "step_hosts"}]
    if not usable:
        raise UsageError(
            f"{root}: holds no bkjob-export dataset "
            "(no .parquet or .csv files under steps/ or step_hosts/)"
        )
    fmt = usable[0]
    notes = tuple(
        f"{other.upper()} files in this folder were ignored; the report reads the "
        f"{fmt.upper()} files."
        for other in usable[1:]
    )
    return Dataset(root=root, format=fmt, tables=found[fmt], notes=notes)


def views_sql(data_dir: str | Path) -> str:
    """``sql/views.sql`` with its placeholders filled in for the dataset in ``data_dir``."""
    return _fill(locate(data_dir))


def _fill(dataset: Dataset) -> str:
    text = (sql_dir() / "views.sql").read_text(encoding="utf-8")
    return Template(text).substitute(
        DATA_DIR=dataset.root.as_posix().replace("'", "''"),
        FORMAT=dataset.format,
        READ_OPTIONS=READ_OPTIONS[dataset.format],
    )


def _statements(script: str) -> list[str]:
    """Split a script made of ``;``-terminated statements (no ``;`` inside literals)."""
    return [s.strip() for s in script.split(";\n") if s.strip() and not _only_comments(s)]


def _only_comments(chunk: str) -> bool:
    return all(not ln.strip() or ln.strip().startswith("--") for ln in chunk.splitlines())


def connect(dataset: Dataset, window: str | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the views of ``sql/views.sql`` over ``dataset``.

    ``window`` is a filled-in ``sql/window.sql`` (see :mod:`pipeline.report.window`): run
    after the views, it narrows them to an incident window. A table with no files gets an
    empty relation with its schema instead of a file reader. The views in
    :data:`CACHED_TABLES` and :data:`CACHED_VIEWS` are computed once (the report runs many
    queries over them). Raises :class:`OutputError` when DuckDB cannot read the files.
    """
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")
        for statement in _statements(_fill(dataset)):
            source = _SOURCE_VIEW.search(statement)
            if source and dataset.format == "delta" and source.group(1) in dataset.tables:
                scan = parquet_scan(dataset.root / source.group(1))
                view = f"{source.group(1)}_files"
                statement = f"CREATE OR REPLACE VIEW {view} AS SELECT * FROM {scan}"
            if source and source.group(1) not in dataset.tables:
                con.register(
                    f"{source.group(1)}_files", TABLES[source.group(1)].schema.empty_table()
                )
                continue
            con.execute(statement)
        for view in CACHED_TABLES[dataset.format]:
            _cache(con, view)
        for statement in _statements(window or ""):
            con.execute(statement)
        for view in CACHED_VIEWS:
            _cache(con, view)
    except duckdb.Error as exc:
        con.close()
        raise dataset_error(dataset, exc) from exc
    return con


def _cache(con: duckdb.DuckDBPyConnection, view: str) -> None:
    """Replace ``view`` by a view over a temp table holding its rows (same name, same rows)."""
    con.execute(f"CREATE TEMP TABLE {view}__cached AS SELECT * FROM {view}")
    con.execute(f"CREATE OR REPLACE VIEW {view} AS SELECT * FROM temp.{view}__cached")


def dataset_error(dataset: Dataset, exc: Exception) -> OutputError:
    """A one-line :class:`OutputError` for a DuckDB failure on ``dataset``."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return OutputError(f"{dataset.root}: cannot read the {dataset.format} dataset: {first}")
