"""Injected faults: each kind observable on the wire, deterministic per attempt; the rps limit."""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Any

import pytest
import requests

from pipeline.simulator import STEP_STATUS_PATH, FaultConfig, SimData, Simulator, serve_fake_api
from pipeline.simulator.app import request_identity

AUTH = {"bk_app_code": "app", "bk_app_secret": "secret", "bk_username": "admin"}


@pytest.fixture(scope="module")
def data() -> SimData:
    return SimData(seed=3, jobs=20)


@pytest.fixture(scope="module")
def body(data: SimData) -> dict[str, Any]:
    step = next(s for j in data.jobs() for s in j.steps if s.type == 1)
    ids = {"job_instance_id": step.job_instance_id, "step_instance_id": step.step_instance_id}
    return {**AUTH, "bk_biz_id": step.bk_biz_id, **ids}


def serve(data: SimData, **faults: Any) -> Simulator:
    return Simulator(data, faults=FaultConfig(**faults))


def outcome(sim: Simulator, body: dict[str, Any], timeout: float = 10) -> str:
    """What a client sees, in one word."""
    try:
        r = requests.post(sim.base_url + STEP_STATUS_PATH, json=body, timeout=timeout)
    except requests.ReadTimeout:
        return "read_timeout"
    except requests.ConnectionError:
        return "connection_error"
    if r.status_code != 200:
        return f"http_{r.status_code}"
    if not r.headers["Content-Type"].startswith("application/json"):
        return "html"
    try:
        env = r.json()
    except ValueError:
        return "bad_json"
    return "ok" if env["result"] else f"code_{env['code']}"


def test_config_is_validated() -> None:
    with pytest.raises(ValueError):
        FaultConfig(timeout_rate=0.6, error_5xx_rate=0.6)
    with pytest.raises(ValueError):
        FaultConfig(reset_rate=-0.1)
    with pytest.raises(ValueError):
        FaultConfig(rps_limit=0.5)


def test_decide_is_a_pure_function_of_seed_identity_attempt() -> None:
    cfg = FaultConfig(error_5xx_rate=0.3, reset_rate=0.2, seed=5)
    first = [cfg.decide("p|x", n) for n in range(1, 200)]
    assert first == [cfg.decide("p|x", n) for n in range(1, 200)]
    other = FaultConfig(error_5xx_rate=0.3, reset_rate=0.2, seed=6)
    assert first != [other.decide("p|x", n) for n in range(1, 200)]
    assert set(first) == {None, "error_5xx", "reset"}
    assert FaultConfig().decide("p|x", 1) is None
    only_two = FaultConfig(error_5xx_rate=1.0, faulty_attempts=2)
    assert [only_two.decide("p|x", n) for n in (1, 2, 3, 4)] == [
        "error_5xx",
        "error_5xx",
        None,
        None,
    ]


@pytest.mark.parametrize(
    ("faults", "seen"),
    [
        ({"reset_rate": 1.0}, "connection_error"),
        ({"timeout_rate": 1.0, "hang_s": 0.0}, "code_1306201"),
        ({"esb_rate_limit_rate": 1.0}, "code_1306429"),
        ({"truncated_json_rate": 1.0}, "bad_json"),
        ({"non_json_rate": 1.0}, "html"),
        ({"gateway_429_rate": 1.0}, "http_429"),
    ],
)
def test_each_fault_kind_is_observable(
    data: SimData, body: dict[str, Any], faults: dict[str, Any], seen: str
) -> None:
    with serve(data, **faults) as sim:
        assert outcome(sim, body) == seen
        kind = next(k for k in faults if k.endswith("_rate")).removesuffix("_rate")
        assert sim.stats.count(STEP_STATUS_PATH, f"fault:{kind}") == 1


def test_5xx_and_429_look_like_the_api_gateway(data: SimData, body: dict[str, Any]) -> None:
    with serve(data, error_5xx_rate=1.0) as sim:
        r = requests.post(sim.base_url + STEP_STATUS_PATH, json=body, timeout=10)
        assert r.status_code in (502, 503)
        assert r.json()["code"] == int(r.headers["X-Bkapi-Error-Code"]) in (1650200, 1650300)
    with serve(data, gateway_429_rate=1.0, gateway_reset_s=3, rps_limit=50) as sim:
        r = requests.post(sim.base_url + STEP_STATUS_PATH, json=body, timeout=10)
        assert (r.status_code, r.json()["code"], r.headers["X-Bkapi-Error-Code"]) == (
            429,
            1642901,
            "1642901",
        )
        assert r.headers["X-Bkapi-RateLimit-Remaining"] == "0"
        assert r.headers["X-Bkapi-RateLimit-Reset"] == "3"
        assert r.headers["X-Bkapi-RateLimit-Limit"] == "50"


def test_truncated_answer_is_half_of_the_real_one(data: SimData, body: dict[str, Any]) -> None:
    with serve(data) as clean, serve(data, truncated_json_rate=1.0) as cut:
        full = requests.post(clean.base_url + STEP_STATUS_PATH, json=body, timeout=10).content
        r = requests.post(cut.base_url + STEP_STATUS_PATH, json=body, timeout=10)
    assert int(r.headers["Content-Length"]) == len(r.content) == len(full) // 2
    assert full.startswith(r.content)


def test_attempts_follow_decide_and_a_retry_gets_through(
    data: SimData, body: dict[str, Any]
) -> None:
    cfg = FaultConfig(error_5xx_rate=0.4, esb_rate_limit_rate=0.2, seed=11)
    with Simulator(data, faults=cfg) as sim:
        seen = [outcome(sim, body) for _ in range(12)]
    identity = request_identity(STEP_STATUS_PATH, body, False, b"")
    want = {None: "ok", "error_5xx": "http_5xx", "esb_rate_limit": "code_1306429"}
    expected = [want[cfg.decide(identity, n)] for n in range(1, 13)]
    assert [s if not s.startswith("http_5") else "http_5xx" for s in seen] == expected
    assert len(set(seen)) > 1
    with serve(data, error_5xx_rate=1.0, faulty_attempts=2) as sim:
        assert [outcome(sim, body)[:6] for _ in range(3)] == ["http_5", "http_5", "ok"]
        assert sim.attempts(identity) == 3


def test_hanging_request_times_out_and_shutdown_is_prompt(
    data: SimData, body: dict[str, Any]
) -> None:
    seen: list[str] = []
    sim = serve(data, timeout_rate=1.0, hang_s=3600.0).start()
    client = threading.Thread(target=lambda: seen.append(outcome(sim, body, timeout=60)))
    client.start()
    assert sim.wait_hanging(1, timeout=10)
    sim.stop()  # must not wait an hour: the hang is an Event wait
    client.join(timeout=10)
    assert seen == ["connection_error"]
    with serve(data, timeout_rate=1.0, hang_s=3600.0) as sim:
        assert outcome(sim, body, timeout=0.2) == "read_timeout"


def test_latency_still_answers(data: SimData, body: dict[str, Any]) -> None:
    with serve(data, latency_ms=1.0) as sim:
        assert outcome(sim, body) == "ok"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_rps_limit_admits_that_many_per_second(data: SimData, body: dict[str, Any]) -> None:
    clock = FakeClock()
    with Simulator(data, faults=FaultConfig(rps_limit=3), clock=clock) as sim:
        assert [outcome(sim, body) for _ in range(5)] == ["ok"] * 3 + ["code_1306429"] * 2
        clock.now += 1.0
        assert [outcome(sim, body) for _ in range(4)] == ["ok"] * 3 + ["code_1306429"]
        assert sim.stats.count(outcome="rps_limited") == 3


def test_rps_limit_with_the_real_clock_limits(data: SimData, body: dict[str, Any]) -> None:
    with serve(data, rps_limit=2) as sim, requests.Session() as s:
        codes = [
            s.post(sim.base_url + STEP_STATUS_PATH, json=body, timeout=10).json()["code"]
            for _ in range(30)
        ]
    assert codes.count(1306429) > 0 and codes.count(0) >= 2


class LineWatch(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.got_line = threading.Event()

    def write(self, s: str) -> int:
        n = super().write(s)
        if "\n" in self.getvalue():
            self.got_line.set()
        return n


def test_serve_fake_api_prints_url_first_and_writes_ids(tmp_path: Path) -> None:
    out, stop = LineWatch(), threading.Event()
    ids = tmp_path / "ids.csv"
    kwargs: dict[str, Any] = {"seed": 3, "jobs": 5, "ids_out": ids, "out": out, "stop": stop}
    server = threading.Thread(target=serve_fake_api, kwargs=kwargs)
    server.start()
    assert out.got_line.wait(10)
    url = out.getvalue().splitlines()[0]
    assert url.startswith("http://127.0.0.1:")
    assert ids.read_text().splitlines()[0] == "bk_biz_id,job_instance_id,step_instance_id"
    r = requests.post(url + STEP_STATUS_PATH, json=AUTH, timeout=10)
    assert r.json()["code"] == 1241007
    stop.set()
    server.join(timeout=10)
    assert not server.is_alive()
