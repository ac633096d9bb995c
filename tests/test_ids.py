from __future__ import annotations

import io
from pathlib import Path

import pytest

from pipeline.errors import IdFileError, UsageError
from pipeline.ids import JobRef, StepRef, dedupe, parse_id_csv, parse_ref_option, read_id_file


def test_rows_with_and_without_step() -> None:
    text = "bk_biz_id,job_instance_id,step_instance_id\n2,490001,790001\n2,490002,\n"
    assert parse_id_csv(text, "f.csv") == [StepRef(2, 490001, 790001), JobRef(2, 490002)]


def test_step_column_may_be_absent_and_columns_reordered() -> None:
    assert parse_id_csv("job_instance_id,bk_biz_id\n5,3\n", "f") == [JobRef(3, 5)]
    text = "step_instance_id, bk_biz_id ,job_instance_id,note\n9,1,8,x\n"
    assert parse_id_csv(text, "f") == [StepRef(1, 8, 9)]


def test_blank_lines_are_skipped_and_line_numbers_stay_true() -> None:
    text = "bk_biz_id,job_instance_id\n\n2,1\n\n2,x\n"
    with pytest.raises(IdFileError, match=r"^f\.csv, line 5: job_instance_id must be"):
        parse_id_csv(text, "f.csv")


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("", 1, "empty file"),
        ("2,490001,790001\n", 1, "header lacks"),
        ("bk_biz_id,job_instance_id\n2,-5\n", 2, "positive integer"),
        ("bk_biz_id,job_instance_id\n2,0\n", 2, "positive integer"),
        ("bk_biz_id,job_instance_id\n2,1.5\n", 2, "positive integer"),
        ("bk_biz_id,job_instance_id\n2,1\n3,\n", 3, "job_instance_id"),
        ("bk_biz_id,job_instance_id,step_instance_id\n2,1,abc\n", 2, "step_instance_id"),
    ],
)
def test_bad_files_name_the_line(text: str, line: int, fragment: str) -> None:
    with pytest.raises(IdFileError) as info:
        parse_id_csv(text, "ids.csv")
    assert info.value.line == line
    assert fragment in str(info.value)
    assert str(info.value).startswith(f"ids.csv, line {line}:")


def test_wrong_encoding_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "ids.csv"
    path.write_bytes(b"bk_biz_id,job_instance_id\n2,1\n" + b"\xff\xfe,1\n")
    with pytest.raises(IdFileError, match="line 3: not valid UTF-8"):
        read_id_file(str(path))


def test_bom_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "ids.csv"
    path.write_bytes(b"\xef\xbb\xbfbk_biz_id,job_instance_id\n2,1\n")
    assert read_id_file(str(path)) == [JobRef(2, 1)]


def test_missing_file_and_stdin(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read ID file"):
        read_id_file(str(tmp_path / "nope.csv"))
    stdin = io.BytesIO(b"bk_biz_id,job_instance_id,step_instance_id\n2,3,4\n")
    assert read_id_file("-", stdin) == [StepRef(2, 3, 4)]


def test_ref_options() -> None:
    assert parse_ref_option("2:490001:790001", "--step") == StepRef(2, 490001, 790001)
    assert parse_ref_option("2:490001", "--job") == JobRef(2, 490001)
    for bad in ("2:490001", "a:b:c", "2:0:1", "2:3:4:5"):
        with pytest.raises(UsageError, match="--step"):
            parse_ref_option(bad, "--step")


def test_dedupe_keeps_order_and_folds_steps_into_jobs() -> None:
    refs = [StepRef(2, 1, 10), StepRef(2, 1, 10), StepRef(2, 5, 50), JobRef(2, 1), JobRef(2, 1)]
    assert dedupe(refs) == [StepRef(2, 5, 50), JobRef(2, 1)]
