"""--wait-finished: a running step is written as running, or polled until it finishes or the
time is up (the simulator's ``finish_after_polls`` makes steps finish, deterministically)."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.ids import Ref, StepRef
from pipeline.runner import fetch
from pipeline.simulator import SimData, Simulator
from tests.e2e_helpers import settings_for, step_refs
from tests.resil_helpers import no_wait_tuning, rows, step_calls

POLLS = 2


@pytest.fixture(scope="module")
def data() -> SimData:
    return SimData(seed=5, jobs=10)


@pytest.fixture(scope="module")
def refs(data: SimData) -> list[Ref]:
    return step_refs(data)


def unfinished(data: SimData, refs: list[Ref]) -> set[int]:
    out = set()
    for r in refs:
        assert isinstance(r, StepRef)
        step = data.step(r.bk_biz_id, r.job_instance_id, r.step_instance_id)
        if step is not None and not step.is_finished:
            out.add(r.step_instance_id)
    return out


def by_step(out: Path) -> dict[int, dict[str, object]]:
    return {r["step_instance_id"]: r for r in rows(out, "steps")}


def test_without_waiting_running_steps_are_written_as_running(
    data: SimData, refs: list[Ref], tmp_path: Path
) -> None:
    running = unfinished(data, refs)
    assert len(running) >= 3
    with Simulator(data, finish_after_polls=POLLS) as sim:
        result = fetch(settings_for(sim.base_url, tmp_path), refs)
        assert step_calls(sim) == len(refs)  # nobody polls
    assert result.exit_code == 0
    steps = by_step(tmp_path)
    for sid in running:
        assert steps[sid]["is_finished"] is False
        assert steps[sid]["outcome"] in ("running", "pending")


def test_steps_that_finish_within_the_budget_are_written_finished(
    data: SimData, refs: list[Ref], tmp_path: Path
) -> None:
    running = unfinished(data, refs)
    tuning = no_wait_tuning(max_retries=2, poll_initial_s=0.01)
    with Simulator(data, finish_after_polls=POLLS) as sim:
        settings = settings_for(sim.base_url, tmp_path, wait_finished=60.0)
        result = fetch(settings, refs, tuning=tuning)
        # the first answer and POLLS polls say running; the next says finished
        assert step_calls(sim) == len(refs) + POLLS * len(running)
    assert result.exit_code == 0 and result.manifest.exported == len(refs)
    steps = by_step(tmp_path)
    assert len(steps) == len(refs)
    for sid in running:
        assert (steps[sid]["is_finished"], steps[sid]["status"]) == (True, 3)
        assert steps[sid]["outcome"] == "success" and steps[sid]["end_time"] is not None
    hosts = rows(tmp_path, "step_hosts")
    assert {h["outcome"] for h in hosts if h["step_instance_id"] in running} <= {
        "success",
        "failed",
        "stopped",
    }


def test_steps_still_running_when_time_is_up_are_written_as_running(
    data: SimData, refs: list[Ref], tmp_path: Path
) -> None:
    running = unfinished(data, refs)
    tuning = no_wait_tuning(max_retries=2, poll_initial_s=0.01)
    with Simulator(data, finish_after_polls=10**6) as sim:
        settings = settings_for(sim.base_url, tmp_path, wait_finished=0.1)
        result = fetch(settings, refs, tuning=tuning)
        polls = step_calls(sim) - len(refs)
    assert result.exit_code == 0 and result.manifest.exported == len(refs)
    assert polls >= len(running) and polls % len(running) == 0  # whole rounds of polls
    steps = by_step(tmp_path)
    assert len(steps) == len(refs)
    for sid in running:
        assert steps[sid]["is_finished"] is False
