"""sql/views.sql and sql/metrics/*.sql: types, CSV = Parquet, definitions, caps, portability."""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipeline import codes
from pipeline.errors import OutputError
from pipeline.report.dataset import connect, locate, views_sql
from pipeline.report.metrics import metric_files, query, run_metrics
from pipeline.resources import sql_dir
from pipeline.schema import STEP_HOSTS, STEPS, TABLES
from tests.test_report_data import make_dataset, step_row, synthetic_rows, write_table

DUCKDB_TYPES = {
    "int64": "BIGINT",
    "int32": "INTEGER",
    "string": "VARCHAR",
    "bool": "BOOLEAN",
    "double": "DOUBLE",
    "timestamp[us, tz=UTC]": "TIMESTAMP WITH TIME ZONE",
}


def open_views(root: Path) -> duckdb.DuckDBPyConnection:
    return connect(locate(root))


def steps_dataset(
    root: Path, steps: list[dict[str, Any]], hosts: list[dict[str, Any]] | None = None
) -> Path:
    write_table(root, "parquet", STEPS, steps)
    write_table(root, "parquet", STEP_HOSTS, hosts or [])
    write_table(root, "parquet", TABLES["fetch_errors"], [])
    return root


def step(sid: int, status: int, seconds: float | None = 1.0, name: str = "a") -> dict[str, Any]:
    row = step_row(random.Random(sid), 2, 1000 + sid // 10, sid)
    row.update(
        name=name,
        status=status,
        status_name=codes.step_status_name(status),
        outcome=codes.step_outcome(status),
        is_finished=status in codes.FINISHED_STATUSES,
        total_time_s=seconds,
    )
    return row


@pytest.mark.parametrize("fmt", ["parquet", "csv"])
def test_typed_views_have_the_schema_columns_and_types(tmp_path: Path, fmt: str) -> None:
    con = open_views(make_dataset(tmp_path, fmt, jobs=5))
    for name, spec in TABLES.items():
        described = [(r[0], r[1]) for r in con.execute(f"DESCRIBE {name}").fetchall()]
        assert described == [(f.name, DUCKDB_TYPES[str(f.type)]) for f in spec.schema]


def test_csv_reads_back_exactly_what_parquet_holds(tmp_path: Path) -> None:
    pq_con = open_views(make_dataset(tmp_path / "p", "parquet"))
    csv_con = open_views(make_dataset(tmp_path / "c", "csv"))
    for name in TABLES:
        sql = f"SELECT * FROM {name} ORDER BY ALL"  # DuckDB-only, fine in a test
        assert csv_con.execute(sql).fetchall() == pq_con.execute(sql).fetchall(), name
    names = {r[0] for r in csv_con.execute("SELECT name FROM steps").fetchall()}
    assert {
        '=HYPERLINK("http://evil.example")',
        "-rf /",
        "@SUM(A1)",
        "+1 deploy",
        "\tindented",
        "",
    } <= names


def test_filled_views_run_by_hand_in_a_fresh_duckdb(tmp_path: Path) -> None:
    text = views_sql(make_dataset(tmp_path, jobs=10))
    assert "${" not in text and str(tmp_path.resolve()) in text
    con = duckdb.connect()
    con.execute(text)  # the whole file at once, as `duckdb -init` would
    for sql in metric_files().values():
        assert isinstance(con.execute(sql).fetchall(), list)


def test_every_metric_file_says_what_it_computes() -> None:
    files = metric_files()
    assert {
        "headline", "outcome_counts", "failure_by_step_name", "failure_by_step_type",
        "failure_by_business", "failure_by_operator", "duration_by_step_name",
        "duration_histogram", "slowest_steps", "failing_hosts", "failed_steps",
    } <= set(files)  # fmt: skip
    for name, sql in files.items():
        assert sql.startswith(f"-- {name}.sql - "), name
        assert "Columns:" in sql or name == "headline", name


#: DuckDB-only syntax that must not appear in the portable SQL (metrics and layer 3 views)
NOT_PORTABLE = [
    r"::",
    r"\bQUALIFY\b",
    r"\bEXCLUDE\b",
    r"\bGROUP BY ALL\b",
    r"\bORDER BY ALL\b",
    r"\bILIKE\b",
    r"\bFILTER\s*\(",
    r"\barg_(max|min)\b",
    r"\bmedian\s*\(",
    r"\bquantile\w*\s*\(",
    r"\blist_\w+\s*\(",
    r"\bstruct_\w+\s*\(",
    r"\bread_(parquet|csv)\b",
    r"\bUSING SAMPLE\b",
    r"\bPIVOT\b",
    r"\bASOF\b",
    r"->",
    r"\bSELECT \* (EXCLUDE|REPLACE)\b",
    r"\bstrftime\b",
    r"\bCOUNT\s*\(\s*DISTINCT\s*\(",
    r"\bIS NOT DISTINCT FROM\b",
    r"\bCONCAT\b",
    r"\bTIMESTAMPTZ\b",
    r"\bHUGEINT\b",
]


def _code(sql: str) -> str:
    return "\n".join(line.split("--", 1)[0] for line in sql.splitlines())


def test_metric_sql_is_portable() -> None:
    views = (sql_dir() / "views.sql").read_text(encoding="utf-8")
    portable = {"views.sql layer 3": views.split("-- 3. convenience views", 1)[1]}
    portable.update(metric_files())
    for name, sql in portable.items():
        for pattern in NOT_PORTABLE:
            assert not re.search(pattern, _code(sql), re.IGNORECASE), (name, pattern)


def test_top_n_tables_are_capped_with_the_total(tmp_path: Path) -> None:
    rows = synthetic_rows(seed=3, jobs=40)
    for i, row in enumerate(rows["steps"]):
        row["name"] = f"name-{i:03d}"
    for spec in TABLES.values():
        write_table(tmp_path, "parquet", spec, rows[spec.name])
    results = run_metrics(open_views(tmp_path), locate(tmp_path))
    n = len(rows["steps"])
    assert n > 50
    assert len(results["failure_by_step_name"]) == 50
    assert {r["total_groups"] for r in results["failure_by_step_name"]} == {n}
    assert len(results["slowest_steps"]) == 50
    failed = sum(1 for r in rows["steps"] if r["outcome"] == "failed")
    assert {r["total_failed_steps"] for r in results["failed_steps"]} == {failed}
    assert len({r["step_instance_id"] for r in results["failed_steps"]}) == min(failed, 50)


def test_rates_are_null_when_the_base_is_empty(tmp_path: Path) -> None:
    con = open_views(steps_dataset(tmp_path, [step(1, 8), step(2, 5), step(3, 11, name="b")]))
    (head,) = query(con, (sql_dir() / "metrics" / "headline.sql").read_text())
    assert head["step_failure_rate"] is None and head["host_failure_rate"] is None
    assert (head["steps_stopped"], head["steps_skipped"], head["steps"]) == (2, 1, 3)
    by_name = query(con, metric_files()["failure_by_step_name"])
    assert {r["name"]: r["step_failure_rate"] for r in by_name} == {"a": None, "b": None}


def test_rates_follow_the_contract_outcomes(tmp_path: Path) -> None:
    statuses = [3, 3, 3, 4, 6, 9, 12, 5, 14, 8, 11, 13, 2, 1, 99]
    con = open_views(steps_dataset(tmp_path, [step(i, s) for i, s in enumerate(statuses)]))
    (head,) = query(con, metric_files()["headline"])
    assert head["step_failure_rate"] == 4 / 7  # 4, 6, 9, 12 failed; 3 x success
    assert (head["steps_stopped"], head["steps_skipped"], head["steps_unknown"]) == (3, 2, 1)


def test_percentiles_are_continuous_linear(tmp_path: Path) -> None:
    rows = [step(i, 3, seconds=float(s)) for i, s in enumerate([4, 1, 3, 2])]
    rows += [step(10, 4, seconds=None), step(11, 5, seconds=100.0), step(12, 2, seconds=50.0)]
    con = open_views(steps_dataset(tmp_path, rows))
    (row,) = query(con, metric_files()["duration_by_step_name"])
    assert row["steps"] == 4  # not the step without a time, the skipped or the running one
    assert row["p50_s"] == pytest.approx(2.5)
    assert row["p90_s"] == pytest.approx(3.7)
    assert row["p99_s"] == pytest.approx(3.97)
    assert row["max_s"] == 4.0


def test_a_table_without_files_reads_as_empty(tmp_path: Path) -> None:
    root = make_dataset(tmp_path, jobs=5)
    for f in (root / "fetch_errors").iterdir():
        f.unlink()
    con = open_views(root)
    assert con.execute("SELECT COUNT(*) FROM fetch_errors").fetchone() == (0,)
    assert query(con, metric_files()["fetch_errors_by_kind"]) == []


def test_a_corrupt_file_is_one_clear_line(tmp_path: Path) -> None:
    root = make_dataset(tmp_path, jobs=5)
    next(root.joinpath("steps").rglob("*.parquet")).write_bytes(b"not parquet at all")
    with pytest.raises(OutputError) as caught:
        run_metrics(open_views(root), locate(root))
    assert "\n" not in str(caught.value) and "cannot read the parquet dataset" in str(caught.value)


def test_parquet_wins_over_stray_csv_files_with_a_note(tmp_path: Path) -> None:
    root = make_dataset(tmp_path, jobs=5)
    (root / "steps" / "stray.csv").write_text("a\n1\n", encoding="utf-8")
    dataset = locate(root)
    assert dataset.format == "parquet" and dataset.notes


def test_docs_list_every_metric_file() -> None:
    docs = (Path(__file__).resolve().parent.parent / "docs" / "report.md").read_text()
    for name in metric_files():
        assert f"`{name}.sql`" in docs, name
