"""The whole pipeline against the simulator over real sockets, checked against the
simulator's own truth."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.ids import JobRef, StepRef
from pipeline.runner import fetch, run
from pipeline.simulator import SimData, Simulator
from tests.e2e_helpers import (
    APP_SECRET,
    duckdb_count,
    job_refs,
    read_table,
    settings_for,
    step_refs,
)


@pytest.fixture(scope="module")
def data() -> SimData:
    return SimData(seed=11, jobs=30)


def test_round_trip_matches_the_simulator(data: SimData, sim: Simulator, tmp_path: Path) -> None:
    refs = step_refs(data)
    result = fetch(settings_for(sim.base_url, tmp_path), refs)
    assert result.exit_code == 0
    truth = {
        r.step_instance_id: data.step(r.bk_biz_id, r.job_instance_id, r.step_instance_id)
        for r in refs
        if isinstance(r, StepRef)
    }
    steps = read_table(tmp_path, "steps").to_pylist()
    assert len(steps) == len(refs) == duckdb_count(tmp_path, "steps")
    for row in steps:
        step = truth[row["step_instance_id"]]
        assert step is not None
        assert (row["name"], row["status"], row["step_type"]) == (step.name, step.status, step.type)
        assert row["total_ip_num"] == step.host_count
        assert row["is_finished"] == step.is_finished
        # v2 sends whole seconds
        assert row["start_time"] == (step.start_time and step.start_time.replace(microsecond=0))
        assert row["end_time"] == (step.end_time and step.end_time.replace(microsecond=0))
    hosts = sum(s.host_count for s in truth.values() if s is not None)
    assert (
        read_table(tmp_path, "step_hosts").num_rows == hosts == duckdb_count(tmp_path, "step_hosts")
    )
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert manifest["exported"] == len(refs) and manifest["failed"] == 0
    assert manifest["counts"]["steps"] == len(refs)
    assert manifest["counts"]["step_hosts"] == hosts
    assert read_table(tmp_path, "fetch_errors").num_rows == 0


def test_rerun_replaces_rows_never_duplicates(
    data: SimData, sim: Simulator, tmp_path: Path
) -> None:
    refs = step_refs(data)
    first = fetch(settings_for(sim.base_url, tmp_path), refs)
    second = fetch(settings_for(sim.base_url, tmp_path), refs[: len(refs) // 2] + job_refs(data))
    assert first.exit_code == second.exit_code == 0
    steps = read_table(tmp_path, "steps")
    ids = steps.column("step_instance_id").to_pylist()
    assert len(ids) == len(set(ids))
    all_steps = sum(len(j.steps) for j in data.jobs())
    assert len(ids) == all_steps  # job refs add the manual-confirm steps too
    run_ids = set(steps.column("run_id").to_pylist())
    assert run_ids == {second.manifest.run_id}
    hosts = read_table(tmp_path, "step_hosts")
    assert hosts.num_rows == sum(s.host_count for j in data.jobs() for s in j.steps)


def test_unknown_ids_end_in_fetch_errors_with_exit_3(
    data: SimData, sim: Simulator, tmp_path: Path
) -> None:
    good = step_refs(data)[:3]
    job = next(iter(data.jobs()))
    bad = [StepRef(job.bk_biz_id, job.job_instance_id, 1), JobRef(job.bk_biz_id, 99)]
    result = fetch(settings_for(sim.base_url, tmp_path), good + bad)
    assert result.exit_code == 3
    errors = read_table(tmp_path, "fetch_errors").to_pylist()
    assert sorted((e["job_instance_id"], e["step_instance_id"]) for e in errors) == sorted(
        [(job.job_instance_id, 1), (99, None)]
    )
    assert {e["error_kind"] for e in errors} == {"not_found"}
    assert {e["api_code"] for e in errors} == {1244007, 1244006}
    assert all(e["attempts"] == 1 for e in errors)
    assert read_table(tmp_path, "steps").num_rows == 3
    # fixed upstream: a later run that exports them clears their error rows
    again = fetch(settings_for(sim.base_url, tmp_path), good)
    assert again.exit_code == 0
    assert read_table(tmp_path, "fetch_errors").num_rows == 2


def test_bad_credentials_stop_at_once_with_exit_4(
    data: SimData, sim: Simulator, tmp_path: Path
) -> None:
    refs = step_refs(data)
    before = sim.stats.total() if hasattr(sim.stats, "total") else None
    result = fetch(settings_for(sim.base_url, tmp_path, concurrency=4, app_code="wrong"), refs)
    assert result.exit_code == 4
    errors = read_table(tmp_path, "fetch_errors")
    assert errors.num_rows == len(refs)  # nothing lost: every ID is accounted for
    assert set(errors.column("error_kind").to_pylist()) == {"auth"}
    attempts = errors.column("attempts").to_pylist()
    assert sum(1 for a in attempts if a > 0) <= 2 * 4  # at most what was in flight
    if before is not None:
        assert sim.stats.total() - before <= 2 * 4


def test_csv_round_trip(data: SimData, sim: Simulator, tmp_path: Path) -> None:
    refs = step_refs(data)[:20]
    result = fetch(settings_for(sim.base_url, tmp_path, format="csv"), refs)
    assert result.exit_code == 0
    assert duckdb_count(tmp_path, "steps", "csv") == 20
    assert not list(tmp_path.rglob("*.parquet"))


def test_run_writes_report_and_never_leaks_the_secret(
    data: SimData, sim: Simulator, tmp_path: Path
) -> None:
    refs = step_refs(data)[:30] + [StepRef(2, 1, 1)]
    result = run(settings_for(sim.base_url, tmp_path, metrics_file=tmp_path / "m.prom"), refs)
    assert result.report is not None and result.report.exists()
    for path in tmp_path.rglob("*"):
        if path.is_file():
            assert APP_SECRET.encode() not in path.read_bytes(), path


def test_job3_quirks_are_flagged(tmp_path: Path) -> None:
    data = SimData(seed=5, jobs=10, job3=True)
    with Simulator(data) as server:  # the v2 quirk: --api auto would pick jobv3 here
        result = fetch(settings_for(server.base_url, tmp_path, api="esb-v2"), step_refs(data))
    assert result.exit_code == 0
    steps = read_table(tmp_path, "steps").to_pylist()
    multi_group = [s for s in steps if s["hosts_complete"] is False]
    assert multi_group, "3.x answers list hosts only for the first group"
    assert any("incomplete host lists" in w for w in result.manifest.warnings)
    assert all(s["total_ip_num"] is not None for s in steps)
