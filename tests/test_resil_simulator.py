"""The simulator options the resilience tests lean on: a denied business (9900403) and
running steps that finish after N polls."""

from __future__ import annotations

from typing import Any

import requests

from pipeline.codes import FINISHED_STATUSES
from pipeline.simulator import STEP_STATUS_PATH, SimData, SimStep, Simulator

AUTH = {"bk_app_code": "app", "bk_app_secret": "secret", "bk_username": "admin"}


def ask(sim: Simulator, step: SimStep) -> dict[str, Any]:
    body = {**AUTH, "bk_biz_id": step.bk_biz_id, "job_instance_id": step.job_instance_id,
            "step_instance_id": step.step_instance_id}  # fmt: skip
    reply = requests.post(sim.base_url + STEP_STATUS_PATH, json=body, timeout=10)
    assert reply.status_code == 200
    envelope: dict[str, Any] = reply.json()
    return envelope


def scripts(data: SimData) -> list[SimStep]:
    return [s for j in data.jobs() for s in j.steps if s.type != 3]


def test_denied_business_answers_9900403_with_a_permission_object() -> None:
    data = SimData(seed=3, jobs=12)
    steps = scripts(data)
    denied = steps[0].bk_biz_id
    with Simulator(data, deny_biz=[denied]) as sim:
        answers = [(s.bk_biz_id, ask(sim, s)) for s in steps]
    assert {b for b, _ in answers} - {denied}, "the data must hold another business"
    for biz, env in answers:
        if biz == denied:
            assert (env["result"], env["code"], env["data"]) == (False, 9900403, None)
            action = env["permission"]["actions"][0]
            assert action["id"] == "view_history"
            assert action["related_resource_types"][0]["instances"][0][0]["id"] == str(biz)
        else:
            assert env["result"] is True and "permission" not in env


def test_running_step_finishes_after_n_polls_and_stays_finished() -> None:
    data = SimData(seed=3, jobs=8)
    running = next(s for s in scripts(data) if s.status == 2)
    done = next(s for s in scripts(data) if s.is_finished)
    with Simulator(data, finish_after_polls=2) as sim:
        seen = [ask(sim, running)["data"] for _ in range(4)]
        finished_before = [ask(sim, done)["data"] for _ in range(3)]
    assert [d["is_finished"] for d in seen] == [False, False, True, True]
    detail = seen[2]["step_instance_detail"]
    assert detail["status"] == 3 and detail["end_time"]
    groups = seen[2]["step_instance_analyse_result"]
    assert {g["result_type"] for g in groups} <= {3, 9} | {
        c for c in running.hosts.result_type if c not in (5, 7)
    }
    assert sum(g["count"] for g in groups) == running.host_count
    # a step that had finished is not touched; the truth stays static
    assert all(d == finished_before[0] for d in finished_before)
    assert (
        data.step(running.bk_biz_id, running.job_instance_id, running.step_instance_id) == running
    )
    assert running.status not in FINISHED_STATUSES


def test_static_world_by_default() -> None:
    data = SimData(seed=3, jobs=8)
    running = next(s for s in scripts(data) if s.status == 2)
    with Simulator(data) as sim:
        assert not any(ask(sim, running)["data"]["is_finished"] for _ in range(3))
