"""Every fault kind of the simulator, through the whole pipeline over loopback: the exact
number of calls, the waits asked for (never slept), and the data that ends up written."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pipeline.ids import Ref, StepRef
from pipeline.retry import RetryPolicy
from pipeline.runner import Tuning, fetch
from pipeline.simulator import FaultConfig, SimData, Simulator
from tests.e2e_helpers import settings_for, step_refs
from tests.resil_helpers import (
    FakeSleep,
    leftovers,
    no_wait_tuning,
    rows,
    step_calls,
    step_outcomes,
)

#: the client's timeout; the "timeout" kind hangs longer, so it is the client that gives up
CLIENT_TIMEOUT_S = 0.3


@dataclass(frozen=True)
class Kind:
    """A fault kind: its FaultConfig rate, and what the ID's fetch_errors row then says."""

    rate: str
    error_kind: str
    http_status: int | None
    api_code: int | None
    #: a pause the server asked for (gateway Reset header; ESB's 1306429 gives none)
    server_pause: bool = False
    #: how long the simulator holds a "timeout" request (then ESB answers 1306201)
    hang_s: float = 0.0


KINDS = {
    # the client gives up first: its own timeout
    "timeout": Kind("timeout_rate", "timeout", None, None, hang_s=3 * CLIENT_TIMEOUT_S),
    # ESB gives up first: 1306201 "third-party system timeout"
    "esb_timeout": Kind("timeout_rate", "api_error", 200, 1306201),
    "5xx": Kind("error_5xx_rate", "http", 503, 1650300),
    "esb_1306429": Kind("esb_rate_limit_rate", "api_error", 200, 1306429, server_pause=True),
    "gateway_429": Kind("gateway_429_rate", "http", 429, 1642901, server_pause=True),
    "truncated_json": Kind("truncated_json_rate", "invalid_response", 200, None),
    "non_json": Kind("non_json_rate", "invalid_response", 200, None),
    "reset": Kind("reset_rate", "connection", None, None),
}


@pytest.fixture(scope="module")
def data() -> SimData:
    return SimData(seed=4, jobs=4)  # 7 steps, 73 hosts, 3 businesses


@pytest.fixture(scope="module")
def refs(data: SimData) -> list[Ref]:
    return step_refs(data)


@pytest.fixture(scope="module")
def clean(data: SimData, refs: list[Ref], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The rows a run without faults writes."""
    out = tmp_path_factory.mktemp("clean")
    with Simulator(data) as sim:
        assert fetch(settings_for(sim.base_url, out), refs).exit_code == 0
    return out


@pytest.fixture
def serve(data: SimData) -> Iterator[Any]:
    sims: list[Simulator] = []

    def start(**faults: Any) -> Simulator:
        sim = Simulator(data, faults=FaultConfig(**faults)).start()
        sims.append(sim)
        return sim

    yield start
    for sim in sims:
        sim.stop()


def faulty(kind: Kind, attempts: int) -> dict[str, Any]:
    """Every request of ``kind`` fails its first ``attempts`` attempts, then works."""
    return {
        kind.rate: 1.0,
        "faulty_attempts": attempts,
        "gateway_reset_s": 2,
        "hang_s": kind.hang_s,
    }


def outcome(kind: Kind) -> str:
    return "fault:" + kind.rate.removesuffix("_rate")


def settled(sim: Simulator, kind: Kind, expected: int) -> None:
    """The simulator records a hung request when its hang ends, after the client gave up:
    poll (bounded) until every fault is on the books."""
    deadline = time.monotonic() + 10 * max(kind.hang_s, 1.0)
    while step_calls(sim, outcome(kind)) < expected and time.monotonic() < deadline:
        time.sleep(0.02)


@pytest.mark.parametrize("name", list(KINDS))
def test_fault_is_retried_until_it_clears(
    name: str, serve: Any, refs: list[Ref], clean: Path, tmp_path: Path
) -> None:
    kind = KINDS[name]
    sim = serve(**faulty(kind, attempts=2))
    sleep = FakeSleep()
    settings = settings_for(sim.base_url, tmp_path, timeout=CLIENT_TIMEOUT_S)
    result = fetch(settings, refs, tuning=no_wait_tuning(max_retries=3, sleep=sleep))
    n = len(refs)
    assert result.exit_code == 0
    settled(sim, kind, 2 * n)
    assert step_outcomes(sim) == {outcome(kind): 2 * n, "ok": n}  # 3 calls per ID
    assert result.manifest.retries == 2 * n
    assert rows(tmp_path, "steps") == rows(clean, "steps")
    assert rows(tmp_path, "step_hosts") == rows(clean, "step_hosts")
    assert rows(tmp_path, "fetch_errors") == []
    backoffs = [w for w in sleep.waits if w > 0]
    if kind.server_pause:
        # the shared limiter pauses every worker; a gateway Reset header sets the wait
        assert backoffs, "a rate-limit answer must make the client wait"
        if kind.http_status == 429:
            assert sum(1 for w in sleep.waits if w == 2.0) == 2 * n
    else:
        assert backoffs == []  # zero backoff policy: nothing else may wait
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("name", list(KINDS))
def test_fault_that_outlasts_the_retries_ends_in_fetch_errors(
    name: str, serve: Any, refs: list[Ref], tmp_path: Path
) -> None:
    kind = KINDS[name]
    sim = serve(**faulty(kind, attempts=3))
    settings = settings_for(sim.base_url, tmp_path, timeout=CLIENT_TIMEOUT_S)
    result = fetch(settings, refs, tuning=no_wait_tuning(max_retries=2))
    n = len(refs)
    assert result.exit_code in (3, 4) and result.manifest.exported == 0
    settled(sim, kind, 3 * n)
    assert step_outcomes(sim) == {outcome(kind): 3 * n}
    errors = rows(tmp_path, "fetch_errors")
    assert sorted((e["step_instance_id"], e["attempts"]) for e in errors) == sorted(
        (r.step_instance_id, 3) for r in refs if isinstance(r, StepRef)
    )
    for e in errors:
        assert e["error_kind"] == kind.error_kind
        if kind.http_status == 503:  # 502 or 503, drawn per attempt
            assert (e["http_status"], e["api_code"]) in ((502, 1650200), (503, 1650300))
        else:
            assert (e["http_status"], e["api_code"]) == (kind.http_status, kind.api_code)
        assert e["message"]
    assert rows(tmp_path, "steps") == []


def test_permanent_answers_are_asked_once(
    data: SimData, serve: Any, refs: list[Ref], tmp_path: Path
) -> None:
    sim = serve()
    job = next(iter(data.jobs()))
    manual = (
        next(s for j in data.jobs() for s in j.steps if s.type == 3)
        if any(s.type == 3 for j in data.jobs() for s in j.steps)
        else None
    )
    bad: list[Ref] = [
        StepRef(job.bk_biz_id, job.job_instance_id, 1),  # 1244007 step not found
        StepRef(job.bk_biz_id, 1, 1),  # 1244006 job not found
    ]
    if manual is not None:
        bad.append(StepRef(manual.bk_biz_id, manual.job_instance_id, manual.step_instance_id))
    result = fetch(settings_for(sim.base_url, tmp_path), refs + bad, tuning=no_wait_tuning(5))
    assert result.exit_code == 3
    assert step_calls(sim) == len(refs) + len(bad)  # one call each, never retried
    errors = rows(tmp_path, "fetch_errors")
    assert {e["api_code"] for e in errors} <= {1244006, 1244007, 1241003}
    assert len(errors) == len(bad) and {e["attempts"] for e in errors} == {1}
    assert {e["error_kind"] for e in errors} <= {"not_found", "api_error"}
    assert result.manifest.retries == 0


def test_adaptive_limiter_converges_under_the_servers_real_rps_limit(tmp_path: Path) -> None:
    """No --rps: the first burst runs into the server's limit (ESB 1306429), the shared
    limiter halves the rate once per burst and pauses, and the run completes."""
    data = SimData(seed=11, jobs=20)
    refs = step_refs(data)
    concurrency = 8
    with Simulator(data, faults=FaultConfig(rps_limit=20)) as sim:
        settings = settings_for(sim.base_url, tmp_path, concurrency=concurrency)
        # real waits here: the server's window is real time
        result = fetch(settings, refs, tuning=Tuning(retry_policy=RetryPolicy(max_retries=5)))
        limited = step_calls(sim, "rps_limited")
    assert result.exit_code == 0 and result.manifest.exported == len(refs)
    assert len(rows(tmp_path, "steps")) == len(refs)
    assert limited >= 1, "the burst must have hit the limit"
    # one burst's worth of refusals, not a refusal per request: the client slowed down
    assert limited <= 2 * concurrency
    assert result.manifest.retries == limited


def test_retry_failed_fetches_only_what_fetch_errors_holds(
    data: SimData, serve: Any, refs: list[Ref], clean: Path, tmp_path: Path
) -> None:
    """A night with an outage on some calls, then ``--retry-failed OUT`` into the same OUT."""
    flaky = serve(error_5xx_rate=0.5, seed=5)
    first = fetch(settings_for(flaky.base_url, tmp_path), refs, tuning=no_wait_tuning(0))
    failed = rows(tmp_path, "fetch_errors")
    assert first.exit_code == 3 and 0 < len(failed) < len(refs)
    healthy = serve()
    settings = settings_for(healthy.base_url, tmp_path, retry_failed=tmp_path)
    again = fetch(settings, [], tuning=no_wait_tuning(0))
    assert again.exit_code == 0 and again.manifest.requested == len(failed)
    asked = step_outcomes(healthy)
    assert asked == {"ok": len(failed)}  # those IDs and no others
    assert rows(tmp_path, "fetch_errors") == []
    assert rows(tmp_path, "steps") == rows(clean, "steps")
