"""DatasetWriter: layout, reading back, replace across runs, empty tables, locks, resume."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.dataset import DatasetWriter
from pipeline.dataset import parquetfmt as parquetfmt_mod
from pipeline.dataset import staging as staging_mod
from pipeline.errors import OutputError
from pipeline.schema import TABLES
from tests.test_dataset_helpers import (
    DAY,
    Replace,
    data_files,
    duck,
    duck_columns,
    duck_count,
    duck_source,
    make_batch,
    no_rows,
    read_pa,
    rows,
)

DAY2 = "2026-11-30"
#: the tables these layout tests look at (tables added later have their own tests)
CORE = ("steps", "step_hosts", "fetch_errors", "jobs")


def _commit(
    out: Path,
    run_id: str,
    replace: Replace | None = None,
    **batches: pa.RecordBatch | list[pa.RecordBatch],
) -> dict[str, int]:
    with DatasetWriter(out, run_id=run_id) as w:
        for table, batch_list in batches.items():
            for batch in batch_list if isinstance(batch_list, list) else [batch_list]:
                w.write(table, batch)
        return w.commit(replace or {})


def test_layout_partitions_and_file_names(tmp_path: Path) -> None:
    counts = _commit(
        tmp_path,
        "r1",
        steps=[make_batch("steps", range(4), bk_biz_id=[2, 2, 3, 3], day=[DAY, DAY2, DAY, DAY])],
        step_hosts=make_batch("step_hosts", range(6)),
    )
    # job 1000 has steps under businesses 2 and 3: its one jobs row takes the smallest
    assert counts == no_rows(steps=4, step_hosts=6, jobs=1)
    assert data_files(tmp_path, tables=CORE) == [
        "fetch_errors/part-empty.parquet",
        f"jobs/bk_biz_id=2/day={DAY}/part-r1-000005.parquet",
        f"step_hosts/bk_biz_id=2/day={DAY}/part-r1-000004.parquet",
        f"steps/bk_biz_id=2/day={DAY}/part-r1-000001.parquet",
        f"steps/bk_biz_id=2/day={DAY2}/part-r1-000002.parquet",
        f"steps/bk_biz_id=3/day={DAY}/part-r1-000003.parquet",
    ]
    assert not list(tmp_path.rglob("*.tmp"))
    assert not (tmp_path / "_staging").exists()


def test_partition_columns_not_stored_and_parquet_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parquetfmt_mod, "ROW_GROUP_ROWS", 1000)
    _commit(tmp_path, "r1", steps=[make_batch("steps", range(i, i + 700)) for i in (0, 700, 1400)])
    (path,) = (tmp_path / "steps").rglob("*.parquet")
    pf = pq.ParquetFile(path)
    assert pf.schema_arrow.names == TABLES["steps"].file_schema.names
    md = pf.metadata
    assert [md.row_group(i).num_rows for i in range(md.num_row_groups)] == [1000, 1000, 100]
    col = md.row_group(0).column(pf.schema_arrow.names.index("outcome"))
    assert col.compression == "ZSTD"
    assert any("DICT" in e for e in col.encodings)
    assert pf.schema_arrow.field("name").metadata[b"description"]


def test_reads_back_with_pyarrow_and_duckdb(tmp_path: Path) -> None:
    batch = make_batch("steps", range(10), day=[DAY] * 5 + [DAY2] * 5)
    _commit(tmp_path, "r1", steps=batch, fetch_errors=make_batch("fetch_errors", [1, 2]))
    table = read_pa(tmp_path, "steps").sort_by("step_instance_id")
    assert table.num_rows == 10
    assert set(table.column_names) == set(TABLES["steps"].column_names)
    for col in ("name", "start_time", "fetched_at", "status", "total_time_s", "is_finished"):
        assert table.column(col).to_pylist() == batch.column(col).to_pylist()
    assert table.column("day").to_pylist() == batch.column("day").to_pylist()
    assert duck_count(tmp_path, "steps") == 10
    by_day = duck(f"select day, count(*) from {duck_source(tmp_path, 'steps')} group by day")
    assert sorted((str(d), n) for d, n in by_day) == [(DAY, 5), (DAY2, 5)]
    assert duck_count(tmp_path, "fetch_errors") == 2


def test_empty_tables_are_readable_datasets(tmp_path: Path) -> None:
    assert _commit(tmp_path, "r1") == no_rows()
    for table, spec in TABLES.items():
        assert data_files(tmp_path / table) == ["part-empty.parquet"]
        assert read_pa(tmp_path, table).num_rows == 0
        assert read_pa(tmp_path, table).column_names == spec.column_names
        assert duck_columns(tmp_path, table) == spec.column_names
        assert duck_count(tmp_path, table) == 0
    # the placeholder goes once real partitions exist; the others stay
    _commit(tmp_path, "r2", steps=make_batch("steps", [1]))
    assert data_files(tmp_path / "steps") == [f"bk_biz_id=2/day={DAY}/part-r2-000001.parquet"]
    assert data_files(tmp_path / "fetch_errors") == ["part-empty.parquet"]


def test_table_emptied_by_replace_gets_placeholder_back(tmp_path: Path) -> None:
    _commit(tmp_path, "r1", fetch_errors=make_batch("fetch_errors", [1], step_instance_id=None))
    _commit(tmp_path, "r2", replace={"fetch_errors": {(2, 1001, None)}})
    assert len(rows(tmp_path, "fetch_errors")) == 1  # not the key: job 1000
    _commit(tmp_path, "r3", replace={"fetch_errors": [(2, 1000, None)]})
    assert data_files(tmp_path / "fetch_errors") == ["part-empty.parquet"]
    assert duck_count(tmp_path, "fetch_errors") == 0


def test_rerun_same_ids_never_duplicates(tmp_path: Path) -> None:
    for run in ("r1", "r2", "r3"):
        _commit(tmp_path, run, steps=make_batch("steps", range(20), run_id=run))
    found = rows(tmp_path, "steps")
    assert sorted(r["step_instance_id"] for r in found) == list(range(20))
    assert {r["run_id"] for r in found} == {"r3"}


def test_step_moving_to_another_day_replaces_old_row(tmp_path: Path) -> None:
    _commit(tmp_path, "r1", steps=make_batch("steps", range(6), day=DAY, is_finished=False))
    _commit(tmp_path, "r2", steps=make_batch("steps", [4, 5, 6], day=DAY2, is_finished=True))
    found = {r["step_instance_id"]: r for r in rows(tmp_path, "steps")}
    assert sorted(found) == [0, 1, 2, 3, 4, 5, 6]
    assert {k: (r["day"], r["is_finished"]) for k, r in found.items() if k >= 4} == {
        4: (DAY2, True),
        5: (DAY2, True),
        6: (DAY2, True),
    }
    assert duck_count(tmp_path, "steps") == 7


def test_explicit_replace_drops_rows_without_new_ones(tmp_path: Path) -> None:
    hosts = make_batch("step_hosts", [7, 7, 7, 8], ip=["a", "b", "c", "d"])
    _commit(tmp_path, "r1", step_hosts=hosts)
    # step 7 now has one host only; step 8 was not fetched again and keeps its rows
    counts = _commit(
        tmp_path,
        "r2",
        replace={"step_hosts": {(7,)}, "steps": {(7,)}},
        step_hosts=make_batch("step_hosts", [7], ip="a"),
    )
    assert counts["step_hosts"] == 1
    found = sorted((r["step_instance_id"], r["ip"]) for r in rows(tmp_path, "step_hosts"))
    assert found == [(7, "a"), (8, "d")]


def test_fully_replaced_file_and_empty_folder_are_removed(tmp_path: Path) -> None:
    _commit(tmp_path, "r1", steps=make_batch("steps", [1, 2], day=DAY))
    _commit(tmp_path, "r2", steps=make_batch("steps", [1, 2], day=DAY2))
    assert not (tmp_path / "steps" / "bk_biz_id=2" / f"day={DAY}").exists()
    assert len(rows(tmp_path, "steps")) == 2


def test_statistics_skip_files_without_replaced_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for day, ids in ((DAY, range(0, 100)), (DAY2, range(100, 200))):
        _commit(tmp_path, f"r{day}", steps=make_batch("steps", ids, day=day))
    read: list[Path] = []
    original = parquetfmt_mod.ParquetFormat.read_columns

    def spy(
        self: parquetfmt_mod.ParquetFormat, path: Path, schema: pa.Schema, columns: list[str]
    ) -> pa.Table:
        read.append(path)
        return original(self, path, schema, columns)

    monkeypatch.setattr(parquetfmt_mod.ParquetFormat, "read_columns", spy)
    _commit(tmp_path, "r3", steps=make_batch("steps", [150], day=DAY2))
    published = [p for p in read if "_staging" not in p.parts]
    # steps: the other steps of job 1015, then the replaced key; jobs: its old name, its key
    assert [(p.parts[-4], p.parent.name) for p in published] == [
        ("steps", f"day={DAY2}"),
        ("steps", f"day={DAY2}"),
        ("jobs", f"day={DAY2}"),
        ("jobs", f"day={DAY2}"),
    ]
    assert len(rows(tmp_path, "steps")) == 200


def test_rotation_at_max_rows_per_file(tmp_path: Path) -> None:
    with DatasetWriter(tmp_path, run_id="r1", max_rows_per_file=10) as w:
        w.write("step_hosts", make_batch("step_hosts", range(15)))
        w.write("step_hosts", make_batch("step_hosts", range(15, 25)))
        w.commit({})
    files = sorted((tmp_path / "step_hosts").rglob("*.parquet"))
    assert [pq.ParquetFile(f).metadata.num_rows for f in files] == [10, 10, 5]


def test_small_buffer_budget_still_writes_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(staging_mod, "BUFFER_BUDGET", 1)
    monkeypatch.setattr(staging_mod, "MAX_OPEN_FILES", 2)
    days = [f"2026-11-{d:02d}" for d in range(1, 6)]
    with DatasetWriter(tmp_path, run_id="r1") as w:
        for i in range(20):
            w.write("steps", make_batch("steps", [i], day=days[i % 5]))
        w.commit({})
    assert sorted(r["step_instance_id"] for r in rows(tmp_path, "steps")) == list(range(20))


def test_staged_files_are_invisible_to_globs_and_readers(tmp_path: Path) -> None:
    _commit(tmp_path, "r1", steps=make_batch("steps", [1]))
    with DatasetWriter(tmp_path, run_id="r2") as w:
        w.write("steps", make_batch("steps", range(2, 50), day=DAY2))
        w.checkpoint(["a"])
        w.write("steps", make_batch("steps", range(50, 60), day=DAY2))
        assert list((tmp_path / "_staging").rglob("*.tmp"))
        assert data_files(tmp_path, tables=CORE) == [
            "fetch_errors/part-empty.parquet",
            f"jobs/bk_biz_id=2/day={DAY}/part-r1-000002.parquet",
            "step_hosts/part-empty.parquet",
            f"steps/bk_biz_id=2/day={DAY}/part-r1-000001.parquet",
        ]
        assert duck_count(tmp_path, "steps") == 1
        assert read_pa(tmp_path, "steps").num_rows == 1


def test_second_writer_is_refused_while_the_first_holds_the_lock(tmp_path: Path) -> None:
    import os

    with DatasetWriter(tmp_path, run_id="r1"):
        with pytest.raises(OutputError) as err:
            DatasetWriter(tmp_path, run_id="r2").__enter__()
        assert str(err.value) == (
            f"another bkjob-export run is writing to {tmp_path} (pid {os.getpid()})"
        )
    with DatasetWriter(tmp_path, run_id="r2") as w:
        w.commit({})


def test_resume_keeps_checkpointed_rows_and_drops_the_rest(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt), DatasetWriter(tmp_path, run_id="r1") as w:
        w.write("steps", make_batch("steps", [1, 2]))
        w.write("step_hosts", make_batch("step_hosts", [1, 2]))
        w.checkpoint(["job:1", "job:2"])
        w.write("steps", make_batch("steps", [3]))  # never checkpointed
        w.checkpoint([])
        w.write("steps", make_batch("steps", [4]))  # in an open file at the crash
        raise KeyboardInterrupt
    with DatasetWriter(tmp_path, run_id="r2", resume=True) as w:
        assert w.resumed_items() == {"job:1", "job:2"}
        w.write("steps", make_batch("steps", [5], run_id="r2"))
        w.checkpoint(["job:5"])
        counts = w.commit({})
    assert counts == no_rows(steps=4, step_hosts=2, jobs=1)
    assert sorted(r["step_instance_id"] for r in rows(tmp_path, "steps")) == [1, 2, 3, 5]


def test_resume_after_resume_and_without_resume(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt), DatasetWriter(tmp_path, run_id="r1") as w:
        w.write("steps", make_batch("steps", [1]))
        w.checkpoint(["a"])
        raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt), DatasetWriter(tmp_path, run_id="r1", resume=True) as w:
        w.write("steps", make_batch("steps", [2]))
        w.checkpoint(["b"])
        raise KeyboardInterrupt
    with DatasetWriter(tmp_path, run_id="r1", resume=True) as w:
        assert w.resumed_items() == {"a", "b"}
    with DatasetWriter(tmp_path, run_id="r3") as w:
        assert w.resumed_items() == set()
        w.commit({})
    assert rows(tmp_path, "steps") == []


def test_resume_with_another_format_is_refused(tmp_path: Path) -> None:
    with pytest.raises(KeyboardInterrupt), DatasetWriter(tmp_path, run_id="r1") as w:
        w.write("steps", make_batch("steps", [1]))
        w.checkpoint(["a"])
        raise KeyboardInterrupt
    with pytest.raises(OutputError, match="resume with --format parquet"):
        DatasetWriter(tmp_path, run_id="r2", fmt="csv", resume=True).__enter__()


def test_writer_can_commit_twice(tmp_path: Path) -> None:
    with DatasetWriter(tmp_path, run_id="r1") as w:
        w.write("steps", make_batch("steps", [1]))
        assert w.commit({})["steps"] == 1
        w.write("steps", make_batch("steps", [1, 2]))
        assert w.commit({})["steps"] == 2
    assert sorted(r["step_instance_id"] for r in rows(tmp_path, "steps")) == [1, 2]


def test_same_run_id_twice_never_overwrites_a_file(tmp_path: Path) -> None:
    _commit(tmp_path, "same", steps=make_batch("steps", [1]))
    _commit(tmp_path, "same", steps=make_batch("steps", [2]))
    assert sorted(r["step_instance_id"] for r in rows(tmp_path, "steps")) == [1, 2]


def test_bad_batches_and_keys_are_programming_errors(tmp_path: Path) -> None:
    with DatasetWriter(tmp_path, run_id="r1") as w:
        with pytest.raises(ValueError, match="missing name"):
            w.write("steps", make_batch("steps", [1]).drop_columns(["name"]))
        with pytest.raises(ValueError, match="unknown table"):
            w.write("nope", make_batch("steps", [1]))
        with pytest.raises(ValueError, match="not a folder name"):
            w.write("steps", make_batch("steps", [1], day="../x"))
        with pytest.raises(ValueError, match="must be tuples"):
            w.commit({"steps": [1]})  # type: ignore[list-item]
    with pytest.raises(RuntimeError):
        DatasetWriter(tmp_path, run_id="r1").write("steps", make_batch("steps", [1]))
