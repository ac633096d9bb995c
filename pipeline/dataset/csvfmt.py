"""CSV files for Excel and BI tools.

UTF-8 (optionally with a BOM), RFC 4180 (CRLF line ends, every string quoted, quotes doubled),
a header row, null as an empty unquoted cell (an empty string is ``""``), timestamps as
ISO-8601 with offset (``2026-11-29T03:15:14.000000+00:00``), and string cells that a
spreadsheet would run as a formula prefixed with ``'`` unless the writer is raw.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from pipeline.dataset.formats import FileFacts, schema_mismatch
from pipeline.dataset.fsutil import OutputFile, os_errors
from pipeline.errors import OutputError

BOM = b"\xef\xbb\xbf"
EOL = "\r\n"
#: a cell starting with one of these is a formula (or hides one) in Excel / LibreOffice
FORMULA_START = r"^[=+\-@\t\r]"
GUARD = "'"
_TS_FORMAT = "%Y-%m-%dT%H:%M:%S"  # Arrow's %S carries the fraction: 14.000000
_READ_BLOCK = 1 << 22


def csv_schema(schema: pa.Schema) -> pa.Schema:
    """The columns as written: timestamps become ISO-8601 strings."""
    return pa.schema(
        [pa.field(f.name, pa.string()) if pa.types.is_timestamp(f.type) else f for f in schema]
    )


def _iso(arr: pa.Array) -> pa.Array:
    utc = arr.cast(pa.timestamp(arr.type.unit, tz="UTC"))
    return pc.binary_join_element_wise(pc.strftime(utc, format=_TS_FORMAT), "+00:00", "")


def _guarded(arr: pa.Array) -> pa.Array:
    risky = pc.match_substring_regex(arr, FORMULA_START)
    return pc.if_else(risky, pc.binary_join_element_wise(GUARD, arr, ""), arr)


def encode(batch: pa.RecordBatch, guard: bool) -> pa.RecordBatch:
    cols = []
    for field, col in zip(batch.schema, batch.columns, strict=True):
        if pa.types.is_timestamp(field.type):
            col = _iso(col)
        elif guard and pa.types.is_string(field.type):
            col = _guarded(col)
        cols.append(col)
    return pa.RecordBatch.from_arrays(cols, schema=csv_schema(batch.schema))


class CsvSink:
    def __init__(self, path: Path, schema: pa.Schema, *, bom: bool, guard: bool) -> None:
        self.path = path
        self.rows = 0
        self.buffered_bytes = 0  # nothing held beyond the stream buffer
        self._guard = guard
        self._out = OutputFile(path)
        try:
            if bom:
                self._out.stream.write(BOM)
            options = pacsv.WriteOptions(eol=EOL, quoting_style="needed")
            self._writer = pacsv.CSVWriter(
                self._out.stream, csv_schema(schema), write_options=options
            )
        except BaseException:
            self._out.discard()
            raise

    def write(self, batch: pa.RecordBatch) -> None:
        self._writer.write_batch(encode(batch, self._guard))
        self.rows += batch.num_rows

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self._writer.close()
        self._out.finish()

    def discard(self) -> None:
        self._out.discard()
        try:
            self._writer.close()
        except (OSError, ValueError, pa.ArrowException):
            pass


def read_header(path: Path) -> list[str]:
    with os_errors(path), open(path, "rb") as f:
        first = f.readline(1 << 20)
    try:
        text = first.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise OutputError(f"{path}: not a UTF-8 CSV file") from exc
    rows = list(csv.reader([text.rstrip("\r\n")]))
    return rows[0] if rows else []


def has_bom(path: Path) -> bool:
    with os_errors(path), open(path, "rb") as f:
        return f.read(len(BOM)) == BOM


def _convert_options(schema: pa.Schema, columns: list[str] | None) -> pacsv.ConvertOptions:
    return pacsv.ConvertOptions(
        column_types={f.name: f.type for f in schema},
        include_columns=columns,
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
        true_values=["true"],
        false_values=["false"],
    )


def _parse() -> pacsv.ParseOptions:
    return pacsv.ParseOptions(newlines_in_values=True)


def _unreadable(path: Path, exc: Exception) -> OutputError:
    reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return OutputError(f"{path}: not a readable CSV file ({reason})")


class CsvFormat:
    name = "csv"
    ext = ".csv"

    def __init__(self, *, bom: bool = False, raw: bool = False) -> None:
        self.bom = bom
        self.raw = raw

    def open_sink(self, path: Path, schema: pa.Schema) -> CsvSink:
        return CsvSink(path, schema, bom=self.bom, guard=not self.raw)

    def inspect(self, path: Path, expected: pa.Schema, prune_col: str | None) -> FileFacts:
        # CSV has no types in its header and no statistics: names only, and read the keys
        found = read_header(path)
        want = [f.name for f in expected]
        if found != want:
            typed = [(n, str(expected.field(n).type)) if n in want else (n, "?") for n in found]
            problem = schema_mismatch(typed, expected) or "header differs"
            raise OutputError(f"{path}: incompatible schema ({problem})")
        return FileFacts(rows=None, ranges=None)

    def read_columns(self, path: Path, schema: pa.Schema, columns: list[str]) -> pa.Table:
        opts = _convert_options(schema, columns)
        with os_errors(path):
            try:
                return pacsv.read_csv(path, parse_options=_parse(), convert_options=opts)
            except pa.ArrowInvalid as exc:
                raise _unreadable(path, exc) from exc

    def rewrite(self, src: Path, dst: Path, schema: pa.Schema, keep: pa.Array) -> None:
        """Copy kept rows verbatim: strings were guarded when first written, so no guard now."""
        with os_errors(dst):
            sink = CsvSink(dst, schema, bom=has_bom(src), guard=False)
        offset = 0
        read = pacsv.ReadOptions(block_size=_READ_BLOCK)
        try:
            with os_errors(dst):
                reader = pacsv.open_csv(
                    src, read, _parse(), convert_options=_convert_options(schema, None)
                )
                for batch in reader:
                    mask = keep.slice(offset, batch.num_rows)
                    offset += batch.num_rows
                    sink.write(batch.filter(mask))
                sink.close()
        except pa.ArrowInvalid as exc:
            sink.discard()
            raise _unreadable(src, exc) from exc
        except BaseException:
            sink.discard()
            raise
