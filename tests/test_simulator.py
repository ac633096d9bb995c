"""The simulator over real sockets: wire shapes, every error path, auth, 2.x vs 3.x."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta, timezone
from http.client import HTTPConnection
from typing import Any

import pytest
import requests

from pipeline.simulator import (
    JOB_STATUS_PATH,
    JOBV3_JOB_STATUS_PATH,
    STEP_STATUS_PATH,
    SimData,
    SimStep,
    Simulator,
)

AUTH = {"bk_app_code": "app", "bk_app_secret": "s3cret", "bk_username": "admin"}
SEED_DETAIL_KEYS = set(
    "step_instance_id name type operator status step_id job_instance_id bk_biz_id target_ips "
    "abnormal_agent_ips retry_count start_time end_time total_time total_ip_num "
    "abnormal_agent_ip_num running_ip_num fail_ip_num success_ip_num".split()
)


@pytest.fixture(scope="module")
def data() -> SimData:
    return SimData(seed=7, jobs=120)


@pytest.fixture(scope="module")
def sim(data: SimData) -> Iterator[Simulator]:
    with Simulator(data, app_code="app", app_secret="s3cret") as server:
        yield server


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def find(data: SimData, pred: Any) -> SimStep:
    return next(s for j in data.jobs() for s in j.steps if pred(s))


def step_body(s: SimStep, **extra: Any) -> dict[str, Any]:
    ids = {"job_instance_id": s.job_instance_id, "step_instance_id": s.step_instance_id}
    return {**AUTH, "bk_biz_id": s.bk_biz_id, "params": ids, **extra}


def post(http: requests.Session, sim: Simulator, path: str, body: Any) -> dict[str, Any]:
    r = http.post(sim.base_url + path, json=body, timeout=10)
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/json")
    assert int(r.headers["Content-Length"]) == len(r.content)
    out: dict[str, Any] = r.json()
    return out


def code_of(http: requests.Session, sim: Simulator, path: str, body: Any) -> tuple[int, str]:
    env = post(http, sim, path, body)
    assert env["result"] is False and env["data"] is None
    return env["code"], env["message"]


def test_envelope_and_seed_document_shape(
    data: SimData, sim: Simulator, http: requests.Session
) -> None:
    step = find(data, lambda s: s.status == 4 and s.host_count > 2)
    env = post(http, sim, STEP_STATUS_PATH, step_body(step))
    assert set(env) == {"result", "code", "message", "data", "request_id"}
    assert (env["result"], env["code"], env["message"]) == (True, 0, "OK")
    assert len(env["request_id"]) == 32 and int(env["request_id"], 16) >= 0
    data_ = env["data"]
    assert set(data_) == {"is_finished", "step_instance_detail", "step_instance_analyse_result"}
    detail = data_["step_instance_detail"]
    assert set(detail) == SEED_DETAIL_KEYS
    assert detail["name"] == step.name and detail["status"] == 4 and data_["is_finished"] is True
    assert isinstance(detail["total_time"], float)
    assert len(detail["start_time"]) == 19 and detail["start_time"][10] == " "
    groups = data_["step_instance_analyse_result"]
    assert [g["result_type"] for g in groups] == sorted({g["result_type"] for g in groups})
    assert sum(g["count"] for g in groups) == detail["total_ip_num"] == step.host_count
    for g in groups:
        assert set(g) == {"result_type", "result_type_text", "count", "ip_list"}
        assert len(g["ip_list"]) == g["count"] and set(g["ip_list"][0]) == {"bk_cloud_id", "ip"}
    assert detail["fail_ip_num"] == step.counters()["fail_ip_num"] >= 1
    targets = [f"{h.bk_cloud_id}:{h.ip}" for h in step.hosts]
    assert detail["target_ips"] == ",".join(targets)


def test_times_are_shanghai_strings_and_running_steps_have_no_end(
    data: SimData, sim: Simulator, http: requests.Session
) -> None:
    done = find(data, lambda s: s.status == 3 and s.type != 3)
    detail = post(http, sim, STEP_STATUS_PATH, step_body(done))["data"]["step_instance_detail"]
    assert done.start_time is not None
    shanghai = done.start_time.astimezone(timezone(timedelta(hours=8)))
    assert detail["start_time"] == shanghai.strftime("%Y-%m-%d %H:%M:%S")
    running = find(data, lambda s: s.status == 2)
    env = post(http, sim, STEP_STATUS_PATH, step_body(running))
    assert env["data"]["is_finished"] is False
    assert "end_time" not in env["data"]["step_instance_detail"]  # 2.x: absent; 3.x: null


def test_job_status_lists_every_step_and_host(
    data: SimData, sim: Simulator, http: requests.Session
) -> None:
    job = max(data.jobs(), key=lambda j: len(j.steps))
    query: dict[str, str | int] = {**AUTH, "bk_biz_id": job.bk_biz_id}
    query["job_instance_id"] = job.job_instance_id
    env = http.get(sim.base_url + JOB_STATUS_PATH, params=query, timeout=10).json()
    assert env["result"] is True
    got = env["data"]
    assert got["job_instance"]["job_instance_id"] == job.job_instance_id
    assert got["job_instance"]["status"] == job.status and got["is_finished"] == job.is_finished
    blocks = got["blocks"]
    assert [b["step_instances"][0]["step_instance_id"] for b in blocks] == [
        s.step_instance_id for s in job.steps
    ]
    for block, step in zip(blocks, job.steps, strict=True):
        inst = block["step_instances"][0]
        assert inst["retry_count"] == step.execute_count and "execute_count" not in inst
        assert [(h["ip"], h["bk_cloud_id"], h["status"]) for h in inst["step_ip_status"]] == [
            (h.ip, h.bk_cloud_id, h.result_type) for h in step.hosts
        ]


def test_get_with_query_string_and_auth_header(
    data: SimData, sim: Simulator, http: requests.Session
) -> None:
    step = find(data, lambda s: s.type == 1)
    query = {
        "bk_biz_id": step.bk_biz_id,
        "job_instance_id": step.job_instance_id,
        "step_instance_id": step.step_instance_id,
    }
    headers = {"X-Bkapi-Authorization": json.dumps(AUTH)}
    r = http.get(sim.base_url + STEP_STATUS_PATH, params=query, headers=headers, timeout=10)
    assert r.json()["data"]["step_instance_detail"]["step_instance_id"] == step.step_instance_id
    # the header wins: a wrong secret there fails even with a right one in the body
    bad = {"X-Bkapi-Authorization": json.dumps({**AUTH, "bk_app_secret": "nope"})}
    r = http.post(sim.base_url + STEP_STATUS_PATH, json=step_body(step), headers=bad, timeout=10)
    assert r.json()["code"] == 1306000 and "nope" not in r.text


@pytest.mark.parametrize(
    ("change", "code", "message"),
    [
        ({"params": {}}, 1241007, "Missing or invalid request parameter [job_instance_id]"),
        (
            {"params": {"job_instance_id": "abc", "step_instance_id": 1}},
            1241007,
            "[job_instance_id]",
        ),
        ({"params": {"job_instance_id": 0, "step_instance_id": 1}}, 1241007, "[job_instance_id]"),
        ({"params": {"job_instance_id": 5, "step_instance_id": -1}}, 1241007, "[step_instance_id]"),
        ({"bk_biz_id": None}, 1241007, "[bk_biz_id]"),
        ({"bk_biz_id": 999}, 1244006, "Task instance does not exist"),
        ({"bk_app_code": ""}, 1306406, "APP Code [bk_app_code] cannot be empty"),
        ({"bk_app_secret": None}, 1306406, "APP Secret [bk_app_secret] cannot be empty"),
        ({"bk_username": ""}, 1306401, "current operator"),
        ({"bk_app_code": "other"}, 1306000, "Invalid APP Code [bk_app_code=other]"),
        ({"bk_app_secret": "wrong"}, 1306000, "APP Secret verification failed"),
    ],
)
def test_error_codes(
    data: SimData,
    sim: Simulator,
    http: requests.Session,
    change: dict[str, Any],
    code: int,
    message: str,
) -> None:
    body = step_body(find(data, lambda s: s.type == 1)) | change
    got_code, got_message = code_of(http, sim, STEP_STATUS_PATH, body)
    assert (got_code, message in got_message) == (code, True)


def test_not_found_and_unsupported(data: SimData, sim: Simulator, http: requests.Session) -> None:
    jobs = list(data.jobs())
    a, b = jobs[0], next(j for j in jobs[1:] if j.bk_biz_id != jobs[0].bk_biz_id)
    sa, sb = a.steps[0], b.steps[0]
    cases = [
        (a.bk_biz_id, a.job_instance_id + 1, sa.step_instance_id, 1244006),  # unknown job
        (b.bk_biz_id, a.job_instance_id, sa.step_instance_id, 1244006),  # job of another biz
        (a.bk_biz_id, a.job_instance_id, sa.step_instance_id + 7, 1244007),  # unknown step
        (a.bk_biz_id, a.job_instance_id, sb.step_instance_id, 1244007),  # step of another job
    ]
    for biz, job, step, code in cases:
        ids = {"job_instance_id": job, "step_instance_id": step}
        assert code_of(http, sim, STEP_STATUS_PATH, {**AUTH, "bk_biz_id": biz, **ids})[0] == code
    manual = find(data, lambda s: s.type == 3)
    assert code_of(http, sim, STEP_STATUS_PATH, step_body(manual)) == (
        1241003,
        "Unsupported operation",
    )
    query = {**AUTH, "bk_biz_id": a.bk_biz_id, "job_instance_id": 12345}
    assert code_of(http, sim, JOB_STATUS_PATH, query)[0] == 1244006


def test_unreadable_body_unknown_path_and_bad_header(
    data: SimData, sim: Simulator, http: requests.Session
) -> None:
    header = {"X-Bkapi-Authorization": json.dumps(AUTH), "Content-Type": "application/json"}
    r = http.post(sim.base_url + STEP_STATUS_PATH, data=b'{"bk_biz_id": 2,', headers=header)
    assert (r.status_code, r.json()["code"], r.json()["message"]) == (200, 1240003, "Bad Request")
    r = http.post(sim.base_url + "/api/c/compapi/v2/job/no_such_api/", json=AUTH)
    assert (r.status_code, r.json()["code"]) == (200, 1306404)
    r = http.post(sim.base_url + STEP_STATUS_PATH, json={}, headers={"X-Bkapi-Authorization": "{"})
    assert r.json()["code"] == 1306406 and "X-Bkapi-Authorization" in r.json()["message"]
    # jobv3 does not exist on a 2.x platform
    assert code_of(http, sim, JOBV3_JOB_STATUS_PATH, AUTH)[0] == 1306404


def test_ids_at_top_level_or_in_params_in_2x_mode(
    data: SimData, sim: Simulator, http: requests.Session
) -> None:
    step = find(data, lambda s: s.type == 2)
    nested = step_body(step)
    flat = {**AUTH, "bk_biz_id": step.bk_biz_id, **nested["params"]}
    scoped = {**flat, "bk_biz_id": None, "bk_scope_type": "biz", "bk_scope_id": str(step.bk_biz_id)}
    answers = [post(http, sim, STEP_STATUS_PATH, b)["data"] for b in (nested, flat, scoped)]
    assert answers[0] == answers[1] == answers[2]


def test_keep_alive_one_connection_many_answers(data: SimData, sim: Simulator) -> None:
    conn = HTTPConnection("127.0.0.1", sim.port, timeout=10)
    body = json.dumps(step_body(find(data, lambda s: s.type == 1)))
    socks = []
    for _ in range(3):
        conn.request("POST", STEP_STATUS_PATH, body, {"Content-Type": "application/json"})
        resp = conn.getresponse()
        assert resp.status == 200 and json.loads(resp.read())["result"] is True
        socks.append(conn.sock)
    assert socks[0] is socks[1] is socks[2] is not None
    conn.close()


def test_big_step_answers_every_host(data: SimData, sim: Simulator, http: requests.Session) -> None:
    big = max((s for j in data.jobs() for s in j.steps if s.type != 3), key=lambda s: s.host_count)
    assert big.host_count >= 1000
    groups = post(http, sim, STEP_STATUS_PATH, step_body(big))["data"][
        "step_instance_analyse_result"
    ]
    listed = [(ip["bk_cloud_id"], ip["ip"]) for g in groups for ip in g["ip_list"]]
    assert sorted(listed) == sorted(zip(big.hosts.bk_cloud_id, big.hosts.ip, strict=True))


def test_same_seed_same_answers_different_seed_different(data: SimData) -> None:
    def answers(seed: int) -> list[Any]:
        d = SimData(seed=seed, jobs=120)
        body = step_body(find(data, lambda s: s.type != 3))
        with Simulator(d) as server, requests.Session() as s:
            env = s.post(server.base_url + STEP_STATUS_PATH, json=body, timeout=10).json()
        return [env["code"], env.get("data")]

    assert answers(7) == answers(7)
    assert answers(7) != answers(8)


def test_stats_count_per_path_and_outcome(data: SimData) -> None:
    with Simulator(data) as server, requests.Session() as s:
        step = find(data, lambda x: x.type == 1)
        for _ in range(3):
            s.post(server.base_url + STEP_STATUS_PATH, json=step_body(step), timeout=10)
        s.post(server.base_url + STEP_STATUS_PATH, json={}, timeout=10)
        stats = server.stats
        assert stats.count("get_step_instance_status", "ok") == 3
        assert stats.count(STEP_STATUS_PATH, "error:1306406") == 1
        assert stats.total() == 4 and stats.by_outcome() == {"ok": 3, "error:1306406": 1}
        assert stats.snapshot() == {STEP_STATUS_PATH: {"error:1306406": 1, "ok": 3}}


def test_any_credentials_are_accepted_without_configured_ones(data: SimData) -> None:
    step = find(data, lambda s: s.type == 1)
    with Simulator(data) as server, requests.Session() as s:
        body = step_body(step) | {"bk_app_code": "x", "bk_app_secret": "y", "bk_token": "t"}
        del body["bk_username"]
        assert s.post(server.base_url + STEP_STATUS_PATH, json=body).json()["result"] is True


def test_language_header_and_other_methods(
    data: SimData, sim: Simulator, http: requests.Session
) -> None:
    step = find(data, lambda s: s.status == 3 and s.type == 1)
    r = http.post(
        sim.base_url + STEP_STATUS_PATH,
        json=step_body(step),
        headers={"Blueking-Language": "zh-cn"},
        timeout=10,
    )
    texts = {g["result_type_text"] for g in r.json()["data"]["step_instance_analyse_result"]}
    assert texts <= {"执行成功", "上次已成功"}
    r = http.put(sim.base_url + STEP_STATUS_PATH, json=step_body(step), timeout=10)
    assert (r.status_code, r.json()["code"]) == (200, 1306404)


def test_a_broken_endpoint_answers_like_esb(
    data: SimData, caplog: pytest.LogCaptureFixture
) -> None:
    def boom(*_: Any) -> bytes:
        raise RuntimeError("bug")

    with Simulator(data) as server:
        server.app.routes[STEP_STATUS_PATH] = boom
        env = requests.post(server.base_url + STEP_STATUS_PATH, json=AUTH, timeout=10).json()
    assert (env["result"], env["code"]) == (False, 1306000)
    assert "simulator endpoint" in caplog.text
