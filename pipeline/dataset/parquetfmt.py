"""Parquet files: zstd, dictionary-encoded low-cardinality columns, row groups of
ROW_GROUP_ROWS rows built up from small batches."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.dataset.formats import ColumnRange, FileFacts, schema_mismatch
from pipeline.dataset.fsutil import OutputFile, os_errors
from pipeline.errors import OutputError

ROW_GROUP_ROWS = 128 * 1024
COMPRESSION = "zstd"


#: strings with (nearly) one value per row: a dictionary only costs time and space there
UNIQUE_STRINGS = frozenset({"ip", "ipv6", "bk_agent_id", "message"})


def _dictionary_columns(schema: pa.Schema) -> list[str]:
    # names, outcomes, texts, run IDs and codes repeat a lot; IDs, IPs and timestamps do not
    return [
        f.name
        for f in schema
        if (pa.types.is_string(f.type) and f.name not in UNIQUE_STRINGS) or f.type == pa.int32()
    ]


class ParquetSink:
    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path = path
        self.rows = 0
        self.buffered_bytes = 0
        self._schema = schema
        self._buffer: list[pa.RecordBatch] = []
        self._buffered_rows = 0
        self._out = OutputFile(path)
        self._writer = pq.ParquetWriter(
            self._out.stream,
            schema,
            compression=COMPRESSION,
            use_dictionary=_dictionary_columns(schema),
            write_statistics=True,
        )

    def write(self, batch: pa.RecordBatch) -> None:
        self.rows += batch.num_rows
        while batch.num_rows:
            head = batch.slice(0, ROW_GROUP_ROWS - self._buffered_rows)
            batch = batch.slice(head.num_rows)
            self._buffer.append(head)
            self._buffered_rows += head.num_rows
            self.buffered_bytes += head.nbytes
            if self._buffered_rows >= ROW_GROUP_ROWS:
                self.flush()

    def flush(self) -> None:
        """Write the buffered rows as one row group."""
        if self._buffer:
            table = pa.Table.from_batches(self._buffer, self._schema)
            self._writer.write_table(table, row_group_size=ROW_GROUP_ROWS)
        self._buffer.clear()
        self._buffered_rows = 0
        self.buffered_bytes = 0

    def close(self) -> None:
        self.flush()
        self._writer.close()
        self._out.finish()

    def discard(self) -> None:
        self._buffer.clear()
        self._out.discard()
        try:
            self._writer.close()
        except (OSError, ValueError, pa.ArrowException):
            pass


def _open(path: Path) -> pq.ParquetFile:
    with os_errors(path):
        try:
            return pq.ParquetFile(str(path))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError) as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise OutputError(f"{path}: not a readable Parquet file ({reason})") from exc


def _ranges(md: pq.FileMetaData, column: str) -> list[ColumnRange] | None:
    names = [md.schema.column(i).path for i in range(md.num_columns)]
    if column not in names:
        return None
    idx = names.index(column)
    out = []
    for g in range(md.num_row_groups):
        stats = md.row_group(g).column(idx).statistics
        if stats is None or not stats.has_null_count:
            return None
        if stats.has_min_max:
            out.append(ColumnRange(stats.min, stats.max, stats.null_count))
        else:
            out.append(ColumnRange(None, None, stats.null_count))
    return out


class ParquetFormat:
    name = "parquet"
    ext = ".parquet"

    def open_sink(self, path: Path, schema: pa.Schema) -> ParquetSink:
        return ParquetSink(path, schema)

    def inspect(self, path: Path, expected: pa.Schema, prune_col: str | None) -> FileFacts:
        with _open(path) as pf:
            found = [(f.name, str(f.type)) for f in pf.schema_arrow]
            problem = schema_mismatch(found, expected)
            if problem:
                raise OutputError(f"{path}: incompatible schema ({problem})")
            md = pf.metadata
            ranges = _ranges(md, prune_col) if prune_col else None
            return FileFacts(rows=md.num_rows, ranges=ranges)

    def read_columns(self, path: Path, schema: pa.Schema, columns: list[str]) -> pa.Table:
        with _open(path) as pf, os_errors(path):
            try:
                return pf.read(columns=columns, use_threads=True)
            except pa.ArrowException as exc:
                raise OutputError(f"{path}: not a readable Parquet file ({exc})") from exc

    def rewrite(self, src: Path, dst: Path, schema: pa.Schema, keep: pa.Array) -> None:
        """Copy the rows of ``src`` where ``keep`` is true into the new file ``dst``."""
        with os_errors(dst):
            sink = ParquetSink(dst, schema)
        offset = 0
        try:
            with _open(src) as pf, os_errors(dst):
                for batch in pf.iter_batches(batch_size=ROW_GROUP_ROWS):
                    mask = keep.slice(offset, batch.num_rows)
                    offset += batch.num_rows
                    sink.write(batch.filter(mask).cast(schema))
                sink.close()
        except pa.ArrowException as exc:
            sink.discard()
            raise OutputError(f"{src}: not a readable Parquet file ({exc})") from exc
        except BaseException:
            sink.discard()
            raise
