"""CSV output: RFC 4180 quoting, BOM, formula-injection guard, ISO-8601 timestamps with
offset, and round trips through DuckDB and pyarrow, also after a replace rewrote a file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from pipeline.dataset import DatasetWriter
from pipeline.dataset.writer import Format
from pipeline.schema import TABLES
from tests.test_dataset_helpers import DAY, T0, duck, duck_columns, duck_count, duck_source
from tests.test_dataset_helpers import make_batch as batch

HEADER = (
    '"bk_biz_id","job_instance_id","step_instance_id","error_kind","http_status","api_code",'
    '"message","attempts","fetched_at","run_id"\r\n'
)
NASTY = [
    "=1+1",
    "+1",
    "-1",
    "@SUM(A1)",
    "\tx",
    "\rx",
    "a,b",
    'he said "hi"',
    "l1\nl2",
    "",
    None,
    "中文 ok",
    "'quoted",
]
GUARDED = ["'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx", "'\rx", *NASTY[6:]]


def _write(
    out: Path, run: str, *, csv_bom: bool = False, csv_raw: bool = False, **kw: pa.RecordBatch
) -> None:
    with DatasetWriter(out, run_id=run, fmt="csv", csv_bom=csv_bom, csv_raw=csv_raw) as w:
        for table, b in kw.items():
            w.write(table, b)
        w.commit({})


def _error_row(**kw: object) -> pa.RecordBatch:
    cols: dict[str, object] = dict(
        step_instance_id=None,
        error_kind="http",
        http_status=502,
        api_code=None,
        message='=HYPERLINK("x")',
        attempts=3,
        fetched_at=T0,
        run_id="r1",
    )
    cols.update(kw)
    return batch("fetch_errors", [0], **cols)


def test_exact_bytes_of_a_csv_file(tmp_path: Path) -> None:
    _write(tmp_path, "r1", fetch_errors=_error_row())
    (path,) = (tmp_path / "fetch_errors").glob("*.csv")
    assert path.read_bytes().decode() == HEADER + (
        '2,1000,,"http",502,,"\'=HYPERLINK(""x"")",3,"2026-11-29T03:15:14.000000+00:00","r1"\r\n'
    )


def test_bom_for_excel_and_raw_without_guard(tmp_path: Path) -> None:
    _write(tmp_path / "bom", "r1", csv_bom=True, fetch_errors=_error_row())
    (path,) = (tmp_path / "bom" / "fetch_errors").glob("*.csv")
    assert path.read_bytes().startswith(b'\xef\xbb\xbf"bk_biz_id"')
    assert (
        duck_columns(tmp_path / "bom", "fetch_errors", "csv") == TABLES["fetch_errors"].column_names
    )
    _write(tmp_path / "raw", "r1", csv_raw=True, fetch_errors=_error_row())
    (path,) = (tmp_path / "raw" / "fetch_errors").glob("*.csv")
    assert ',"=HYPERLINK(""x"")",' in path.read_text()


def test_round_trip_through_duckdb_and_pyarrow(tmp_path: Path) -> None:
    n = len(NASTY)
    steps = batch("steps", range(n), name=NASTY, start_time=[T0] * (n - 1) + [None])
    _write(tmp_path, "r1", csv_bom=True, steps=steps)
    got = duck(
        f"select step_instance_id, name, start_time, typeof(start_time), day, total_time_s "
        f"from {duck_source(tmp_path, 'steps', 'csv')} order by 1"
    )
    # DuckDB reads "" as null, as it does for any empty CSV field
    assert [r[1] for r in got] == [None if v == "" else v for v in GUARDED]
    assert [r[2] for r in got] == [T0] * (n - 1) + [None]
    assert {r[3] for r in got} == {"TIMESTAMP WITH TIME ZONE"}
    assert {str(r[4]) for r in got} == {DAY}
    assert [r[5] for r in got] == steps.column("total_time_s").to_pylist()
    table = ds.dataset(tmp_path / "steps", format="csv", partitioning="hive").to_table()
    # pyarrow's CSV reader, by default, reads an empty field as "" (null strings need options)
    expected = ["" if v is None else v for v in GUARDED]
    assert sorted(table.column("name").to_pylist()) == sorted(expected)


def test_rewrite_on_replace_keeps_cells_verbatim(tmp_path: Path) -> None:
    names = ["=cmd|' /C calc'!A0", "", None, "l1\r\nl2"]
    _write(tmp_path, "r1", csv_bom=True, steps=batch("steps", [1, 2, 3, 4], name=names))
    (old,) = (tmp_path / "steps").rglob("*.csv")
    before = old.read_bytes().split(b"\r\n")
    _write(tmp_path, "r2", steps=batch("steps", [2], name="new", day="2026-11-30"))
    after = old.read_bytes()
    assert after.startswith(b"\xef\xbb\xbf")
    kept = [line for line in before if not line.startswith(b"1000,2,")]
    assert len(kept) == len(before) - 1
    assert after.split(b"\r\n") == kept
    got = duck(f"select step_instance_id, name from {duck_source(tmp_path, 'steps', 'csv')}")
    assert sorted(got, key=repr) == sorted(
        [(1, "'=cmd|' /C calc'!A0"), (2, "new"), (3, None), (4, "l1\r\nl2")], key=repr
    )


def test_empty_csv_tables_read_with_their_columns(tmp_path: Path) -> None:
    _write(tmp_path, "r1")
    for table, spec in TABLES.items():
        (path,) = (tmp_path / table).glob("*.csv")
        assert path.name == "part-empty.csv"
        assert path.read_text().startswith('"bk_biz_id"')
        assert duck_columns(tmp_path, table, "csv") == spec.column_names
        assert duck_count(tmp_path, table, "csv") == 0


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_timestamps_survive_rewrites_exactly(tmp_path: Path, fmt: Format) -> None:
    t = datetime(2026, 11, 29, 23, 59, 59, 999999, tzinfo=UTC)
    with DatasetWriter(tmp_path, run_id="r1", fmt=fmt) as w:
        w.write("steps", batch("steps", [1, 2], start_time=t, total_time_s=0.1))
        w.commit({})
    with DatasetWriter(tmp_path, run_id="r2", fmt=fmt) as w:
        w.commit({"steps": {(2,)}})
    got = duck(f"select start_time, total_time_s from {duck_source(tmp_path, 'steps', fmt)}")
    assert got == [(t, 0.1)]
