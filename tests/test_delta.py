"""--format delta: the same tables as Delta Lake tables, merged on each table's key, so that
re-runs and concurrent writers never duplicate a row; read back with pyarrow and DuckDB."""

from __future__ import annotations

import multiprocessing
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest
from deltalake import DeltaTable

from pipeline.delta import writer as delta_writer
from pipeline.delta.read import arrow_dataset, parquet_scan
from pipeline.delta.tables import DeltaStore
from pipeline.delta.writer import DeltaWriter
from pipeline.errors import OutputError
from pipeline.ids import JobRef, StepRef
from pipeline.report.dataset import connect, locate
from pipeline.report.metrics import run_metrics
from pipeline.runner import fetch
from pipeline.schema import FETCH_ERRORS, STEPS, TABLES
from pipeline.simulator import SimData, Simulator
from tests.e2e_helpers import APP_CODE, APP_SECRET, job_refs, read_table, settings_for, step_refs
from tests.test_delta_helpers import batch, hosts, rounded, steps


def table(root: Path, name: str) -> pa.Table:
    return arrow_dataset(root / name).to_table()


def open_writer(root: Path, run_id: str, staging: str = "s", **kw: Any) -> DeltaWriter:
    store = DeltaStore(root.as_posix(), sleep=lambda s: None)
    return DeltaWriter(store, run_id=run_id, staging=root / "_delta_staging" / staging, **kw)


def no_duplicates(root: Path) -> None:
    ids = table(root, "steps").column("step_instance_id").to_pylist()
    assert len(ids) == len(set(ids))
    pairs = table(root, "step_hosts").select(["step_instance_id", "ip"]).to_pylist()
    assert max(Counter(tuple(p.values()) for p in pairs).values(), default=1) == 1
    jobs = table(root, "jobs").column("job_instance_id").to_pylist()
    assert len(jobs) == len(set(jobs))


# -- end to end against the simulator --------------------------------------------------------


@pytest.fixture(scope="module")
def data() -> SimData:
    return SimData(seed=11, jobs=20)


def _sorted(t: pa.Table, key: list[str]) -> list[dict[str, Any]]:
    keep = [c for c in t.column_names if c not in ("run_id", "fetched_at")]
    rows = t.select(keep).sort_by([(k, "ascending") for k in key]).to_pylist()
    return list(rounded(rows))  # jobs.total_time_s: a sum, in another order


def test_delta_holds_what_parquet_holds(data: SimData, sim: Simulator, tmp_path: Path) -> None:
    refs = step_refs(data)
    par = fetch(settings_for(sim.base_url, tmp_path / "p"), refs)
    dlt = fetch(settings_for(sim.base_url, tmp_path / "d", format="delta"), refs)
    assert par.exit_code == dlt.exit_code == 0
    assert par.manifest.counts == dlt.manifest.counts
    assert dlt.manifest.format == "delta"
    for name in TABLES:
        d = table(tmp_path / "d", name)
        p = read_table(tmp_path / "p", name).select(d.column_names)
        p = p.cast(d.schema.remove_metadata())
        key = ["step_instance_id", "ip"] if name == "step_hosts" else list(TABLES[name].key)
        assert _sorted(d, key) == _sorted(p, key), name
    assert DeltaTable(str(tmp_path / "d" / "steps")).metadata().partition_columns == [
        "bk_biz_id",
        "day",
    ]
    assert not (tmp_path / "d" / "_delta_staging" / "all" / "files").exists()


def test_reruns_replace_never_duplicate(data: SimData, sim: Simulator, tmp_path: Path) -> None:
    refs = step_refs(data)
    settings = settings_for(sim.base_url, tmp_path, format="delta")
    assert fetch(settings, refs).exit_code == 0
    assert fetch(settings, refs[: len(refs) // 2] + job_refs(data)).exit_code == 0
    no_duplicates(tmp_path)
    all_steps = sum(len(j.steps) for j in data.jobs())
    assert table(tmp_path, "steps").num_rows == all_steps
    assert table(tmp_path, "step_hosts").num_rows == data.total_hosts()
    assert table(tmp_path, "jobs").num_rows == data.total_jobs()


def test_report_and_duckdb_read_delta_like_parquet(
    data: SimData, sim: Simulator, tmp_path: Path
) -> None:
    refs = step_refs(data)[:40] + [JobRef(r.bk_biz_id, r.job_instance_id) for r in job_refs(data)]
    for out, fmt in ((tmp_path / "p", "parquet"), (tmp_path / "d", "delta")):
        assert fetch(settings_for(sim.base_url, out, format=fmt), refs).exit_code == 0
    found = locate(tmp_path / "d")
    assert found.format == "delta" and found.tables == {"steps", "step_hosts", "jobs"}
    results = []
    for out in (tmp_path / "p", tmp_path / "d"):
        dataset = locate(out)
        with connect(dataset) as con:
            results.append(run_metrics(con, dataset))
    assert rounded(results[0]) == rounded(results[1])
    scan = parquet_scan(tmp_path / "d" / "step_hosts")
    with duckdb.connect() as con:
        row = con.execute(f"SELECT count(*) FROM {scan}").fetchone()
    assert row is not None and row[0] == read_table(tmp_path / "p", "step_hosts").num_rows


def test_cli_format_delta(data: SimData, sim: Simulator, tmp_path: Path, capsys: Any) -> None:
    from pipeline.cli import main

    refs = step_refs(data)[:5]
    argv = ["run", "--api-url", sim.base_url, "--out", str(tmp_path), "--format", "delta"]
    argv += [f"--step={r.bk_biz_id}:{r.job_instance_id}:{r.step_instance_id}" for r in refs]
    env = {"BK_APP_CODE": APP_CODE, "BK_APP_SECRET": APP_SECRET, "BK_USERNAME": "admin"}
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)
        with pytest.raises(SystemExit) as info:
            main(argv)
    assert info.value.code == 0, capsys.readouterr().err
    assert table(tmp_path, "steps").num_rows == 5
    assert (tmp_path / "report.html").is_file()


# -- replace semantics -----------------------------------------------------------------------


def test_refetched_step_with_fewer_hosts_loses_the_others(tmp_path: Path) -> None:
    with open_writer(tmp_path, "r1") as w:
        w.write("steps", steps([1, 2, 3], "r1"))
        w.write("step_hosts", hosts([1, 2, 3], 5, "r1"))
        w.commit({})
    with open_writer(tmp_path, "r2") as w:
        w.write("steps", steps([2], "r2", outcome="failed"))
        w.write("step_hosts", hosts([2], 2, "r2"))
        counts = w.commit({"steps": [(3,)], "step_hosts": [(3,)]})  # 3 refetched, gone now
    assert counts["steps"] == 1 and counts["step_hosts"] == 2
    per_step = Counter(table(tmp_path, "step_hosts").column("step_instance_id").to_pylist())
    assert per_step == {1: 5, 2: 2}
    got = {r["step_instance_id"]: r["outcome"] for r in table(tmp_path, "steps").to_pylist()}
    assert got == {1: "success", 2: "failed"}
    jobs = table(tmp_path, "jobs").to_pylist()
    assert [(j["job_instance_id"], j["steps"], j["steps_failed"]) for j in jobs] == [(0, 2, 1)]


def test_fetch_error_with_null_step_is_replaced(tmp_path: Path) -> None:
    def error(step: int | None, run: str) -> pa.RecordBatch:
        return batch(FETCH_ERRORS, 1, bk_biz_id=2, job_instance_id=7, step_instance_id=step,
                     error_kind="timeout", attempts=3, run_id=run)  # fmt: skip

    for run in ("r1", "r2"):
        with open_writer(tmp_path, run) as w:
            w.write("fetch_errors", error(None, run))
            w.write("fetch_errors", error(70, run))
            w.commit({"fetch_errors": [(2, 7, None), (2, 7, 70)]})
    rows = table(tmp_path, "fetch_errors").to_pylist()
    assert sorted((r["step_instance_id"] or 0, r["run_id"]) for r in rows) == [
        (0, "r2"),
        (70, "r2"),
    ]
    with open_writer(tmp_path, "r3") as w:  # fetched fine now: the errors go
        w.commit({"fetch_errors": [(2, 7, None)]})
    assert [r["step_instance_id"] for r in table(tmp_path, "fetch_errors").to_pylist()] == [70]


# -- concurrent writers ----------------------------------------------------------------------


def write_overlapping(root: str, name: str, first: int, barrier: Any) -> None:
    """One writer: steps first..first+199 with 3 hosts each, committed three times."""
    for rnd in range(3):
        run = f"{name}-{rnd}"
        with open_writer(Path(root), run, staging=name) as w:
            ids = list(range(first + rnd, first + 200))
            w.write("steps", steps(ids, run))
            w.write("step_hosts", hosts(ids, 3, run))
            barrier.wait()  # both writers commit at the same moment
            w.commit({})


def _check_overlap(root: Path, firsts: list[int]) -> None:
    no_duplicates(root)
    want = set().union(*(range(f, f + 200) for f in firsts))
    assert set(table(root, "steps").column("step_instance_id").to_pylist()) == want
    assert table(root, "step_hosts").num_rows == 3 * len(want)
    assert table(root, "jobs").num_rows == len({i // 4 for i in want})
    assert DeltaTable(str(root / "steps")).version() >= 6  # every commit landed, none lost


def test_two_threads_write_the_same_tables(tmp_path: Path) -> None:
    barrier = threading.Barrier(2)
    args = [(str(tmp_path), "a", 0, barrier), (str(tmp_path), "b", 100, barrier)]
    errors: list[BaseException] = []

    def run(fn: Callable[..., None], *a: Any) -> None:
        try:
            fn(*a)
        except BaseException as exc:  # reported below, in the test's thread
            errors.append(exc)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(write_overlapping, *a)) for a in args]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    _check_overlap(tmp_path, [0, 100])


def test_two_processes_write_the_same_tables(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    procs = [
        ctx.Process(target=write_overlapping, args=(str(tmp_path), n, first, barrier))
        for n, first in (("a", 0), ("b", 50))
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    assert [p.exitcode for p in procs] == [0, 0]
    _check_overlap(tmp_path, [0, 50])


# -- resume, crash in a commit, errors -------------------------------------------------------


def test_resume_keeps_checkpointed_rows(tmp_path: Path) -> None:
    with open_writer(tmp_path, "r1") as w:
        w.write("steps", steps([1, 2], "r1"))
        w.checkpoint(["s:2:0:1", "s:2:0:2"])
        w.write("steps", steps([3], "r1"))  # after the checkpoint: lost, fetched again
    with open_writer(tmp_path, "r2", resume=True) as w:
        assert w.resumed_items() == {"s:2:0:1", "s:2:0:2"}
        w.write("steps", steps([3], "r2"))
        counts = w.commit({})
    assert counts["steps"] == 3
    assert sorted(table(tmp_path, "steps").column("step_instance_id").to_pylist()) == [1, 2, 3]


def test_a_commit_cut_short_is_finished_by_the_next_writer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = delta_writer.replace_rows

    def crash_on_hosts(store: DeltaStore, spec: Any, keys: pa.Table, rows: Any) -> None:
        if spec.name == "step_hosts":
            raise KeyboardInterrupt  # killed between two tables' transactions
        real(store, spec, keys, rows)

    monkeypatch.setattr(delta_writer, "replace_rows", crash_on_hosts)
    with pytest.raises(KeyboardInterrupt), open_writer(tmp_path, "r1") as w:
        w.write("steps", steps([1, 2], "r1"))
        w.write("step_hosts", hosts([1, 2], 4, "r1"))
        w.commit({})
    assert table(tmp_path, "steps").num_rows == 2 and table(tmp_path, "step_hosts").num_rows == 0
    monkeypatch.setattr(delta_writer, "replace_rows", real)
    with open_writer(tmp_path, "r2") as w:  # opening finishes the commit of r1
        pass
    assert table(tmp_path, "step_hosts").num_rows == 8
    assert table(tmp_path, "jobs").num_rows == 1
    assert not (tmp_path / "_delta_staging" / "s" / delta_writer.COMMIT).exists()


def test_incompatible_table_is_one_line(tmp_path: Path) -> None:
    wrong = pa.schema([pa.field(f.name, pa.string()) for f in STEPS.schema])
    DeltaTable.create(str(tmp_path / "steps"), wrong, partition_by=["bk_biz_id", "day"])
    with pytest.raises(
        OutputError,
        match=r"steps: incompatible Delta table \(bk_biz_id is string, expected int64\)$",
    ):
        open_writer(tmp_path, "r1").__enter__()


def test_one_writer_per_staging_folder(tmp_path: Path) -> None:
    with open_writer(tmp_path, "r1"):
        with pytest.raises(OutputError, match="another bkjob-export run is writing"):
            open_writer(tmp_path, "r2").__enter__()


def test_steps_of_unknown_ids_are_not_invented(tmp_path: Path) -> None:
    with open_writer(tmp_path, "r1") as w:
        counts = w.commit({"steps": [(99,)], "step_hosts": [(99,)]})
    assert counts == {t: 0 for t in TABLES}
    assert all(table(tmp_path, t).num_rows == 0 for t in TABLES)
    assert StepRef(2, 1, 99)  # the refs type is what the runner passes (keys are plain tuples)
