"""Faults: a read-only or misplaced OUT, a full disk, corrupt, foreign or older files.

Each gives one OutputError line naming the path, and leaves the published dataset as it
was. Tests run as root, which chmod does not stop, so read-only and disk-full are simulated
at the writer's two low-level seams (fsutil._os_open, fsutil._os_write).
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.dataset import DatasetWriter, fsutil
from pipeline.dataset.journal import JOURNAL
from pipeline.dataset.writer import Format
from pipeline.errors import OutputError
from pipeline.schema import TABLES
from tests.test_dataset_helpers import DAY, digest, make_batch, no_rows, rows

PART = f"steps/bk_biz_id=2/day={DAY}"


@pytest.fixture
def out(tmp_path: Path) -> Path:
    with DatasetWriter(tmp_path, run_id="r1") as w:
        w.write("steps", make_batch("steps", range(10)))
        w.commit({})
    return tmp_path


def _second_run(out: Path, fmt: Format = "parquet") -> None:
    with DatasetWriter(out, run_id="r2", fmt=fmt) as w:
        w.write("steps", make_batch("steps", [5, 6, 20]))
        w.checkpoint(["all"])
        w.commit({})


def _fails(out: Path, match: str) -> str:
    before = digest(out)
    with pytest.raises(OutputError, match=match) as err:
        _second_run(out)
    assert "\n" not in str(err.value)
    assert digest(out) == before
    assert not (out / JOURNAL).exists()
    return str(err.value)


def _disk_full(fd: int, data: memoryview) -> int:
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_read_only_out(out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def read_only(path: str, flags: int, mode: int = 0o644) -> int:
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), path)

    monkeypatch.setattr(fsutil, "_os_open", read_only)
    message = _fails(out, "Read-only file system")
    assert message == f"{out}/.lock: Read-only file system"


def test_out_is_a_file(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.write_text("not a folder")
    with pytest.raises(OutputError, match=f"^{target}: not a folder$"):
        DatasetWriter(target, run_id="r1").__enter__()


def test_table_folder_is_a_file(out: Path) -> None:
    (out / "step_hosts" / "part-empty.parquet").unlink()
    (out / "step_hosts").rmdir()
    (out / "step_hosts").write_text("in the way")
    _fails(out, f"^{out}/step_hosts: not a folder")


def test_disk_full_while_staging(out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fsutil, "_os_write", _disk_full)
    message = _fails(out, "No space left on device")
    assert message.startswith(f"{out}/_staging/files/part-r2-000001.parquet.tmp: ")


def test_disk_full_while_rewriting_at_commit_then_resume(
    out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = digest(out)
    with DatasetWriter(out, run_id="r2") as w:
        w.write("steps", make_batch("steps", [5, 6, 20], run_id="r2"))
        w.checkpoint(["all"])
        monkeypatch.setattr(fsutil, "_os_write", _disk_full)
        with pytest.raises(OutputError, match=r"_staging/work/\S+: No space left on device$"):
            w.commit({})
    assert digest(out) == before
    monkeypatch.undo()
    with DatasetWriter(out, run_id="r3", resume=True) as w:
        assert w.resumed_items() == {"all"}
        w.commit({})
    found = {r["step_instance_id"]: r["run_id"] for r in rows(out, "steps")}
    assert sorted(found) == [*range(10), 20]
    assert found[5] == found[20] == "r2"


def test_disk_full_at_checkpoint(out: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with DatasetWriter(out, run_id="r2", fmt="parquet") as w:
        w.write("steps", make_batch("steps", [1]))
        monkeypatch.setattr(fsutil, "_os_write", _disk_full)
        with pytest.raises(OutputError, match="No space left on device"):
            w.checkpoint(["a"])


def test_corrupt_parquet_file(out: Path) -> None:
    bad = out / PART / "part-x.parquet"
    bad.write_bytes(b"PAR1 this is not parquet")
    message = _fails(out, "not a readable Parquet file")
    assert message.startswith(f"{bad}: not a readable Parquet file (")


def test_truncated_parquet_file(out: Path) -> None:
    (good,) = (out / PART).glob("*.parquet")
    bad = good.with_name("part-cut.parquet")
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    _fails(out, f"^{bad}: not a readable Parquet file")


def test_older_schema_missing_a_column(out: Path) -> None:
    old = pa.Table.from_batches([make_batch("steps", [99])]).select(
        [n for n in TABLES["steps"].file_schema.names if n != "hosts_complete"]
    )
    pq.write_table(old, out / PART / "part-old.parquet")
    _fails(out, r"part-old.parquet: incompatible schema \(missing column hosts_complete\)$")


def test_foreign_parquet_with_other_types(out: Path) -> None:
    foreign = pa.table({"step_instance_id": ["1"], "whatever": [1.0]})
    pq.write_table(foreign, out / PART / "part-foreign.parquet")
    _fails(
        out,
        r"part-foreign.parquet: incompatible schema "
        r"\(missing column job_instance_id, step_id, name and 19 more\)$",
    )
    pq.write_table(
        pa.Table.from_batches([make_batch("steps", [1])])
        .select(TABLES["steps"].file_schema.names)
        .set_column(1, "step_instance_id", pa.array(["1"])),
        out / PART / "part-foreign.parquet",
    )
    _fails(out, r"incompatible schema \(step_instance_id is string, expected int64\)$")


def test_csv_file_in_a_parquet_dataset(out: Path) -> None:
    (out / PART / "stray.csv").write_text("a\n1\n")
    _fails(out, "a csv file in a parquet dataset; write with --format csv or to another --out")


def test_data_file_outside_the_partition_folders(out: Path) -> None:
    (good,) = (out / PART).glob("*.parquet")
    (out / "steps" / "loose.parquet").write_bytes(good.read_bytes())
    _fails(out, "loose.parquet: a data file outside bk_biz_id=.../day=...")


def test_csv_header_of_another_version(tmp_path: Path) -> None:
    with DatasetWriter(tmp_path, run_id="r1", fmt="csv") as w:
        w.write("steps", make_batch("steps", [1]))
        w.commit({})
    (path,) = (tmp_path / PART).glob("*.csv")
    path.write_text(path.read_text().replace('"hosts_complete",', "", 1))
    before = digest(tmp_path)
    with pytest.raises(OutputError, match=r"incompatible schema \(missing column hosts_complete\)"):
        _second_run(tmp_path, fmt="csv")
    assert digest(tmp_path) == before


def test_commit_again_after_the_cause_is_fixed(out: Path) -> None:
    bad = out / PART / "part-x.parquet"
    bad.write_bytes(b"junk")
    with DatasetWriter(out, run_id="r2") as w:
        w.write("steps", make_batch("steps", [5, 20], run_id="r2"))
        with pytest.raises(OutputError, match="not a readable Parquet file"):
            w.commit({})
        bad.unlink()
        assert w.commit({}) == no_rows(steps=2, jobs=2)
    found = {r["step_instance_id"]: r["run_id"] for r in rows(out, "steps")}
    assert sorted(found) == [*range(10), 20] and found[5] == "r2"
