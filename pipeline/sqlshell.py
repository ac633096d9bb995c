"""``bkjob-export sql OUT [FILE]``: the dataset's views (``sql/views.sql``) in DuckDB.

With FILE, its statements run in order and the last one's result is printed. Without FILE,
statements are read from stdin, each ended by ``;`` on the end of a line, and every result is
printed: a minimal read-eval-print loop (DuckDB's Python package has no shell of its own),
with a ``bkjob> `` prompt when stdin is a terminal, and usable from a pipe. For DuckDB's own
shell, ``--views`` prints the views' SQL: ``duckdb -init views.sql``.

Output formats: ``table`` (aligned text, at most :data:`TABLE_ROWS` rows shown), ``csv``
(RFC 4180, a header row, NULL as an empty field) and ``json`` (one JSON array of objects).
Results are fetched in chunks, so csv and json stream any number of rows.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, TextIO

import duckdb

from pipeline.errors import OutputError, UsageError
from pipeline.report import views_sql
from pipeline.report.dataset import locate
from pipeline.schema import TABLES

OutputFormat = Literal["table", "csv", "json"]
TABLE_ROWS = 1_000
CHUNK = 10_000
PROMPT = "bkjob> "
_FILES_VIEW = "CREATE OR REPLACE VIEW {}_files AS"


def open_views(data_dir: str | Path) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the views of ``sql/views.sql`` over the dataset in
    ``data_dir``; a table without files (an OUT from an older version) reads as empty."""
    dataset = locate(data_dir)
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    for table in TABLES:
        if table not in dataset.tables:
            con.register(f"{table}_files", TABLES[table].schema.empty_table())
    try:
        for statement in views_sql(data_dir).split(";\n"):
            if not any(
                _FILES_VIEW.format(t) in statement for t in TABLES if t not in dataset.tables
            ):
                con.execute(statement)
    except duckdb.Error as exc:
        con.close()
        raise OutputError(f"{dataset.root}: cannot open the dataset: {_first_line(exc)}") from exc
    return con


def _first_line(exc: Exception) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _error(where: str, exc: duckdb.Error, root: Path) -> Exception:
    """A dataset file DuckDB cannot read is an output problem; anything else is the query's."""
    first = _first_line(exc)
    damaged = isinstance(exc, duckdb.IOException | duckdb.InvalidInputException)
    if damaged and root.as_posix() in first:
        return OutputError(f"{root}: cannot read the dataset: {first}")
    return UsageError(f"{where}: {first}")


def _rows(result: duckdb.DuckDBPyConnection) -> Iterator[tuple[Any, ...]]:
    while chunk := result.fetchmany(CHUNK):
        yield from chunk


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date | time | timedelta | Decimal | bytes):
        return value.hex() if isinstance(value, bytes) else _text(value)
    return value if isinstance(value, str | int | float | bool | list | dict | None) else str(value)


def write_table(names: Sequence[str], rows: Iterator[tuple[Any, ...]], out: TextIO) -> int:
    shown: list[list[str]] = []
    total = 0
    for row in rows:
        total += 1
        if total <= TABLE_ROWS:
            cells = ["NULL" if v is None else _text(v) for v in row]
            shown.append([c.replace("\n", "\\n").replace("\t", "\\t") for c in cells])
    widths = [max([len(n), *(len(r[i]) for r in shown)]) for i, n in enumerate(names)]
    out.write(" | ".join(n.ljust(w) for n, w in zip(names, widths, strict=True)).rstrip() + "\n")
    out.write("-+-".join("-" * w for w in widths) + "\n")
    for r in shown:
        out.write(" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() + "\n")
    more = f"; {TABLE_ROWS} shown, use --format csv for all" if total > TABLE_ROWS else ""
    out.write(f"({total} row{'' if total == 1 else 's'}{more})\n")
    return total


def write_csv(names: Sequence[str], rows: Iterator[tuple[Any, ...]], out: TextIO) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    total = 0
    for row in rows:
        writer.writerow([_text(v) for v in row])
        total += 1
    return total


def write_json(names: Sequence[str], rows: Iterator[tuple[Any, ...]], out: TextIO) -> int:
    total = 0
    out.write("[")
    for row in rows:
        record = {n: _json_value(v) for n, v in zip(names, row, strict=True)}
        out.write(("," if total else "") + "\n" + json.dumps(record, ensure_ascii=False))
        total += 1
    out.write("\n]\n" if total else "]\n")
    return total


WRITERS = {"table": write_table, "csv": write_csv, "json": write_json}


@dataclass(frozen=True)
class Session:
    con: duckdb.DuckDBPyConnection
    root: Path
    fmt: OutputFormat


def run_sql(session: Session, sql: str, out: TextIO, where: str) -> int | None:
    """Run ``sql`` (one or more statements); print the last result. Returns its row count."""
    con, fmt = session.con, session.fmt
    try:
        result = con.execute(sql)
        if result is None or result.description is None:
            return None
        names = [d[0] for d in result.description]
        return WRITERS[fmt](names, _rows(result), out)
    except duckdb.Error as exc:
        raise _error(where, exc, session.root) from exc


def statements(lines: Iterator[str]) -> Iterator[str]:
    """Statements from lines: each one ends with a line whose text ends with ``;``; a line
    starting with ``.`` between statements is a command of its own."""
    pending: list[str] = []
    for line in lines:
        if not pending and line.startswith("."):
            yield line  # a shell command (.quit), alone on its line
            continue
        pending.append(line)
        if line.rstrip().endswith(";"):
            yield "".join(pending)
            pending = []
    if "".join(pending).strip():
        yield "".join(pending)


def repl(session: Session, stdin: TextIO, out: TextIO) -> None:
    """Read statements from ``stdin`` and print each result. On a terminal an error is printed
    and the loop goes on; from a pipe the first error stops it (as a script would)."""
    tty = stdin.isatty()
    if tty:
        views = ", ".join(_views(session.con))
        out.write(f"views: {views}\nend each statement with ; and leave with Ctrl-D\n")
    for n, text in enumerate(statements(_prompted(stdin, out, tty)), 1):
        if text.strip() in (".quit", ".exit", ".quit;", ".exit;"):
            return
        try:
            run_sql(session, text, out, f"statement {n}")
        except UsageError as exc:
            if not tty:
                raise
            out.write(f"error: {exc}\n")


def _prompted(stdin: TextIO, out: TextIO, tty: bool) -> Iterator[str]:
    while True:
        if tty:
            out.write(PROMPT)
            out.flush()
        line = stdin.readline()
        if not line:
            return
        yield line


def _views(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "SELECT view_name FROM duckdb_views() WHERE NOT internal AND view_name NOT LIKE '%_files'"
        " ORDER BY view_name"
    ).fetchall()
    return [str(r[0]) for r in rows]


def shell(
    data_dir: str | Path,
    file: str | Path | None,
    *,
    fmt: OutputFormat = "table",
    print_views: bool = False,
    stdin: TextIO,
    out: TextIO,
) -> None:
    """What ``bkjob-export sql`` does: print the views, run FILE, or read stdin."""
    if print_views:
        out.write(views_sql(data_dir))
        return
    session = Session(open_views(data_dir), locate(data_dir).root, fmt)
    try:
        if file is not None:
            run_sql(session, _read(Path(file)), out, str(file))
        else:
            repl(session, stdin, out)
    finally:
        session.con.close()


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise UsageError(f"{path}: {reason}") from exc
