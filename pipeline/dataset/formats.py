"""What the writer needs from a file format: a streaming sink, a cheap look at an existing
file (schema check, row-group statistics), reading a few columns, and a filtered rewrite."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import pyarrow as pa

#: name of the zero-row file that keeps an empty table readable (no '.'/'_' prefix: pyarrow
#: would skip it)
EMPTY_STEM = "part-empty"


@dataclass(frozen=True)
class ColumnRange:
    """Statistics of one column in one row group; None where the file has none."""

    min: object
    max: object
    null_count: int | None


@dataclass(frozen=True)
class FileFacts:
    rows: int | None
    #: per row group ranges of the requested prune column; None when unknown
    ranges: list[ColumnRange] | None


class Sink(Protocol):
    path: Path
    rows: int
    buffered_bytes: int

    def write(self, batch: pa.RecordBatch) -> None: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...

    def discard(self) -> None: ...


class FileFormat(Protocol):
    name: str
    ext: str

    def open_sink(self, path: Path, schema: pa.Schema) -> Sink: ...

    def inspect(self, path: Path, expected: pa.Schema, prune_col: str | None) -> FileFacts: ...

    def read_columns(self, path: Path, schema: pa.Schema, columns: list[str]) -> pa.Table: ...

    def rewrite(self, src: Path, dst: Path, schema: pa.Schema, keep: pa.Array) -> None: ...


def schema_mismatch(found: list[tuple[str, str]], expected: pa.Schema) -> str | None:
    """Why a file's (name, type) columns differ from the expected schema; None when equal."""
    want = [(f.name, str(f.type)) for f in expected]
    if found == want:
        return None
    have = dict(found)
    missing = [n for n, _ in want if n not in have]
    if missing:
        return f"missing column {_names(missing)}"
    wrong = [f"{n} is {have[n]}, expected {t}" for n, t in want if have[n] != t]
    if wrong:
        return wrong[0]
    extra = [n for n, _ in found if n not in dict(want)]
    if extra:
        return f"unexpected column {_names(extra)}"
    return "columns in a different order"


def _names(names: list[str], shown: int = 3) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more
