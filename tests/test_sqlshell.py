"""``bkjob-export sql OUT [FILE]``, through the CLI: files, stdin, formats, errors."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.dataset import DatasetWriter
from tests.test_dataset_helpers import make_batch


def invoke(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 1
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def out(tmp_path: Path) -> Path:
    root = tmp_path / "out"
    with DatasetWriter(root, run_id="r1") as w:
        w.write("steps", make_batch("steps", [1, 2, 3], outcome=["success", "failed", "success"]))
        w.write("steps", make_batch("steps", [11], outcome="running"))
        w.write("step_hosts", make_batch("step_hosts", [1, 1, 2], ip=["a", "b", "c"]))
        w.commit({})
    return root


def query_file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "q.sql"
    path.write_text(text, encoding="utf-8")
    return path


BY_JOB = (
    "CREATE TEMP VIEW j AS SELECT job_instance_id, steps, worst_outcome FROM jobs;\n"
    "SELECT * FROM j ORDER BY job_instance_id;\n"
)


def test_file_runs_every_statement_and_prints_the_last_result(
    out: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, stdout, err = invoke(["sql", str(out), str(query_file(tmp_path, BY_JOB))], capsys)
    assert (code, err) == (0, "")
    assert stdout == (
        "job_instance_id | steps | worst_outcome\n"
        "----------------+-------+--------------\n"
        "1000            | 3     | failed\n"
        "1001            | 1     | running\n"
        "(2 rows)\n"
    )


def test_csv_and_json_formats(
    out: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sql = "SELECT ip, step_instance_id, NULL AS nothing, TRUE AS yes FROM step_hosts ORDER BY ip;"
    path = str(query_file(tmp_path, sql))
    code, stdout, _ = invoke(["sql", str(out), path, "--format", "csv"], capsys)
    assert code == 0
    assert stdout == "ip,step_instance_id,nothing,yes\na,1,,true\nb,1,,true\nc,2,,true\n"
    code, stdout, _ = invoke(["sql", str(out), path, "--format", "json"], capsys)
    assert code == 0
    assert json.loads(stdout)[0] == {"ip": "a", "step_instance_id": 1, "nothing": None, "yes": True}
    assert len(json.loads(stdout)) == 3


def test_timestamps_print_as_iso_8601(
    out: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sql = "SELECT first_start FROM jobs WHERE job_instance_id = 1001;"
    code, stdout, _ = invoke(
        ["sql", str(out), str(query_file(tmp_path, sql)), "--format", "csv"], capsys
    )
    assert (code, stdout) == (0, "first_start\n2026-11-29T03:15:25.000011+00:00\n")


def test_statements_from_stdin(
    out: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = "SELECT count(*) AS n\n  FROM steps;\nSELECT count(*) AS hosts FROM step_hosts;\n"
    monkeypatch.setattr("sys.stdin", io.StringIO(text))
    code, stdout, _ = invoke(["sql", str(out)], capsys)
    assert code == 0
    assert stdout == "n\n-\n4\n(1 row)\nhosts\n-----\n3\n(1 row)\n"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_prompt_on_a_terminal_goes_on_after_an_error(
    out: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", Terminal("SELECT nope FROM steps;\nSELECT 1 AS one;\n.quit\n"))
    code, stdout, _ = invoke(["sql", str(out)], capsys)
    assert code == 0
    lines = stdout.splitlines()
    assert lines[0].startswith("views: fetch_errors, host_results, jobs, step_durations,")
    assert lines[2].startswith("bkjob> error: statement 1: Binder Error:")
    assert lines[3:] == ["bkjob> one", "---", "1", "(1 row)", "bkjob> "]


def test_a_piped_error_stops_with_one_line(
    out: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("SELECT 1 AS a;\nSELEC 2;\nSELECT 3;\n"))
    code, stdout, err = invoke(["sql", str(out)], capsys)
    assert code == 2
    assert stdout == "a\n-\n1\n(1 row)\n"
    assert err.startswith("bkjob-export: error: statement 2: Parser Error:")
    assert err.count("\n") == 1


def test_query_errors_name_the_file(
    out: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = query_file(tmp_path, "SELECT * FROM no_such_view;")
    code, _, err = invoke(["sql", str(out), str(path)], capsys)
    assert code == 2
    assert err.startswith(f"bkjob-export: error: {path}: Catalog Error:")
    assert err.count("\n") == 1
    code, _, err = invoke(["sql", str(out), str(tmp_path / "missing.sql")], capsys)
    assert (code, err) == (
        2,
        f"bkjob-export: error: {tmp_path / 'missing.sql'}: No such file or directory\n",
    )


def test_no_dataset_and_a_damaged_file(
    out: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = invoke(["sql", str(tmp_path / "nothing"), "-"], capsys)
    assert code == 2 and "no such directory" in err
    (next((out / "steps").rglob("*.parquet"))).write_bytes(b"not parquet")
    code, _, err = invoke(["sql", str(out), str(query_file(tmp_path, "SELECT 1;"))], capsys)
    assert code == 1
    assert err.startswith(f"bkjob-export: error: {out.resolve()}: cannot ")
    assert err.count("\n") == 1


def test_views_sql_for_the_duckdb_shell(out: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, stdout, _ = invoke(["sql", str(out), "--views"], capsys)
    assert code == 0
    assert "${" not in stdout and f"'{out.resolve()}/jobs/**/*.parquet'" in stdout


def test_an_out_from_an_older_version_reads_jobs_as_empty(
    out: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.rmtree(out / "jobs")
    code, stdout, _ = invoke(["sql", str(out), str(query_file(tmp_path, BY_JOB))], capsys)
    assert code == 0 and stdout.endswith("(0 rows)\n")
