"""Fetch throughput against the simulator with 20 ms latency per call (``make bench``).

The simulator runs in a subprocess, so its GIL does not slow the client being measured.
Printed: steps fetched per second at several concurrencies next to the ceiling
``concurrency / latency``, a plain sequential ``requests`` loop and an 8-thread one, the
same with 5% of calls failing transiently, and ``--rps 50`` with its busiest second.

    python -m benchmarks fetch            # or: make bench
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import requests
from requests.adapters import HTTPAdapter

from pipeline.client import ApiClient, Credentials, new_session
from pipeline.config import Secret, Settings
from pipeline.fetcher import Fetcher
from pipeline.ids import StepRef
from pipeline.ratelimit import RateLimiter
from pipeline.runner import fetch
from pipeline.simulator import STEP_STATUS_PATH, FaultConfig, SimData, Simulator
from pipeline.transport import FastSession

LATENCY_MS = 20.0
#: the simulator's world: 4 steps of 10 hosts per job, no manual steps (every call a step)
JOBS, STEPS_PER_JOB, HOSTS = 1200, 4, 10
#: about two seconds of work at the ceiling, at least 200 calls
SECONDS_AT_CEILING = 2.0
RPS_STEPS = 300
#: turns of the three clients at 8 in flight (the median is shown)
ROUNDS = 3
#: long enough that the last retries' backoff (0.5-1.5 s) weighs as in a night, not more
FAULTY_STEPS = 6400
CREDS = Credentials("bench", Secret("bench-secret"), "admin")


def world() -> SimData:
    return SimData(seed=7, jobs=JOBS, steps_per_job=STEPS_PER_JOB, hosts_per_step=HOSTS)


def step_refs(n: int, offset: int = 0) -> list[StepRef]:
    """``n`` step IDs; ``offset`` keeps runs apart, so none is served from a warm cache only
    because an earlier run asked first (the simulator caches every answer anyway)."""
    data, out = world(), []
    for i in range(offset, offset + n):
        job = data.plan(i // STEPS_PER_JOB % JOBS)
        step = job.steps[i % STEPS_PER_JOB]
        out.append(StepRef(job.bk_biz_id, job.job_instance_id, step.step_instance_id))
    return out


# -- the server, in its own process ---------------------------------------------------------
def serve(error_5xx_rate: float, latency_ms: float = LATENCY_MS) -> None:
    """Child side: serve until stdin closes; first stdout line is the URL."""
    faults = FaultConfig(latency_ms=latency_ms, error_5xx_rate=error_5xx_rate, seed=1)
    with Simulator(world(), faults=faults) as sim:
        print(sim.base_url, flush=True)
        sys.stdin.read()


@contextmanager
def fake_api(error_5xx_rate: float = 0.0) -> Iterator[str]:
    code = f"from benchmarks.bench_fetch import serve; serve({error_5xx_rate!r}, {LATENCY_MS!r})"
    child = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)  # fmt: skip
    assert child.stdout is not None and child.stdin is not None
    try:
        yield child.stdout.readline().strip()
    finally:
        child.stdin.close()
        child.wait(30)


# -- the clients -----------------------------------------------------------------------------
class TimedSession(FastSession):
    """The client's own session, noting when each request leaves (busiest second)."""

    def __init__(self, pool_size: int, base_url: str) -> None:
        super().__init__(pool_size, base_url)
        self.headers.update(new_session(pool_size, base_url).headers)
        self.sent: list[float] = []
        self._lock = threading.Lock()

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        with self._lock:
            self.sent.append(time.monotonic())
        return super().request(*args, **kwargs)


@dataclass
class Result:
    ok: int
    failed: int
    seconds: float
    calls: int
    busiest_second: int

    @property
    def rate(self) -> float:
        return self.ok / self.seconds


def busiest_second(times: list[float]) -> int:
    """Most requests sent within any window [t, t + 1 s)."""
    times, best, lo = sorted(times), 0, 0
    for hi, t in enumerate(times):
        while times[lo] <= t - 1.0:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def run_fetcher(url: str, refs: list[StepRef], concurrency: int, rps: float | None) -> Result:
    session = TimedSession(concurrency, url)
    client = ApiClient(url, CREDS, session=session)
    fetcher = Fetcher(client, concurrency=concurrency, limiter=RateLimiter(rps))
    ok = failed = 0
    start = time.perf_counter()
    for result in fetcher.fetch_all(refs):
        ok += result.answer is not None
        failed += result.answer is None
    seconds = time.perf_counter() - start
    client.close()
    return Result(ok, failed, seconds, len(session.sent), busiest_second(session.sent))


def plain_requests(url: str, refs: list[StepRef], threads: int) -> Result:
    """What a script would do: requests.Session.post and json, no retries, no limiter."""
    session = requests.Session()
    session.mount("http://", HTTPAdapter(pool_maxsize=threads))
    auth = CREDS.header()

    def one(ref: StepRef) -> bool:
        ids = {"job_instance_id": ref.job_instance_id, "step_instance_id": ref.step_instance_id}
        body = {"bk_biz_id": ref.bk_biz_id, **ids}
        r = session.post(url + STEP_STATUS_PATH, data=orjson.dumps(body),
                         headers={"X-Bkapi-Authorization": auth}, timeout=30)  # fmt: skip
        return bool(r.status_code == 200 and orjson.loads(r.content).get("result"))

    start = time.perf_counter()
    if threads == 1:
        done = [one(r) for r in refs]
    else:
        with ThreadPoolExecutor(threads) as pool:
            done = list(pool.map(one, refs))
    seconds = time.perf_counter() - start
    session.close()
    return Result(sum(done), len(done) - sum(done), seconds, len(done), 0)


def raw_sockets(url: str, refs: list[StepRef], threads: int) -> Result:
    """The floor of any HTTP client: keep-alive sockets, one write per request, no
    library; what the machine and the simulator allow in this run."""
    parts, auth, local = urlsplit(url), CREDS.header(), threading.local()

    def one(ref: StepRef) -> bool:
        if not hasattr(local, "sock"):
            local.sock = socket.create_connection((parts.hostname, parts.port))
            local.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            local.file = local.sock.makefile("rb")
        ids = {"job_instance_id": ref.job_instance_id, "step_instance_id": ref.step_instance_id}
        body = orjson.dumps({"bk_biz_id": ref.bk_biz_id, **ids})
        head = (
            f"POST {STEP_STATUS_PATH} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"X-Bkapi-Authorization: {auth}\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        local.sock.sendall(head.encode() + body)
        local.file.readline()
        length = 0
        while (line := local.file.readline()) not in (b"\r\n", b""):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        return bool(orjson.loads(local.file.read(length)).get("result"))

    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        done = list(pool.map(one, refs))
    return Result(sum(done), len(done) - sum(done), time.perf_counter() - start, len(done), 0)


# -- the table ---------------------------------------------------------------------------------
def ceiling(concurrency: int) -> float:
    return concurrency / (LATENCY_MS / 1000)


def size(concurrency: int) -> int:
    return max(200, int(ceiling(concurrency) * SECONDS_AT_CEILING))


def row(label: str, result: Result, limit: float | None, note: str = "") -> str:
    share = f"{result.rate / limit:.0%}" if limit else ""
    limit_text = f"{limit:.0f}" if limit else ""
    cells = [label, f"{result.ok}", f"{result.seconds:.2f}", f"{result.rate:.0f}",
             limit_text, share, note]  # fmt: skip
    return "| " + " | ".join(cells) + " |"


def pipeline_run(url: str, refs: list[StepRef], concurrency: int) -> Result:
    """The whole ``fetch``: fetching, flattening and writing Parquet."""
    settings = Settings(api_url=url, app_code=CREDS.app_code, app_secret=CREDS.app_secret,
                        username="admin", concurrency=concurrency, quiet=True)  # fmt: skip
    with tempfile.TemporaryDirectory() as out:
        start = time.perf_counter()
        result = fetch(replace(settings, out=Path(out)), list(refs))
        seconds = time.perf_counter() - start
    m = result.manifest
    return Result(m.exported, m.failed, seconds, m.exported + m.failed + m.retries, 0)


class Runs:
    """Fresh step IDs for every run, so each measures the same work."""

    def __init__(self) -> None:
        self.offset = 0

    def refs(self, n: int) -> list[StepRef]:
        self.offset += n
        return step_refs(n, self.offset - n)


def interleaved(url: str, runs: Runs) -> dict[str, Result]:
    """The three clients at 8 in flight, in turns, ROUNDS times: the median run of each.
    Taking turns spreads the load of a shared machine over all three alike."""
    clients: dict[str, Callable[[list[StepRef]], Result]] = {
        "bkjob-export, concurrency 8": lambda refs: run_fetcher(url, refs, 8, None),
        "requests, 8 threads": lambda refs: plain_requests(url, refs, 8),
        "raw sockets, 8 threads (the floor)": lambda refs: raw_sockets(url, refs, 8),
    }
    seen: dict[str, list[Result]] = {name: [] for name in clients}
    for _ in range(ROUNDS):
        for name, client in clients.items():
            seen[name].append(client(runs.refs(size(8))))
    return {name: sorted(r, key=lambda x: x.rate)[ROUNDS // 2] for name, r in seen.items()}


def measure(print_row: Callable[[str], None]) -> None:
    runs = Runs()
    with fake_api() as url:
        run_fetcher(url, runs.refs(200), 8, None)  # warm up: connections, imports
        at_8 = interleaved(url, runs)
        ours, floor = (
            at_8["bkjob-export, concurrency 8"],
            at_8["raw sockets, 8 threads (the floor)"],
        )
        for c in (1, 4, 8, 16, 32):
            result = ours if c == 8 else run_fetcher(url, runs.refs(size(c)), c, None)
            note = (
                f"median of {ROUNDS}; {ours.rate / floor.rate:.0%} of raw sockets" if c == 8 else ""
            )
            print_row(row(f"bkjob-export, concurrency {c}", result, ceiling(c), note))
        seq = plain_requests(url, runs.refs(size(1)), 1)
        print_row(row("requests, sequential", seq, ceiling(1)))
        for name in list(at_8)[1:]:
            print_row(row(name, at_8[name], ceiling(8), f"median of {ROUNDS}"))
        whole = pipeline_run(url, runs.refs(size(8)), 8)
        print_row(row("bkjob-export fetch (+ flatten, Parquet), concurrency 8", whole, ceiling(8)))
        limited = run_fetcher(url, runs.refs(RPS_STEPS), 8, 50.0)
        note = f"busiest second: {limited.busiest_second} requests"
        print_row(row("bkjob-export, concurrency 8, --rps 50", limited, 50.0, note))
    with fake_api(error_5xx_rate=0.05) as url:
        faulty = run_fetcher(url, runs.refs(FAULTY_STEPS), 8, None)
        note = (f"{faulty.calls - faulty.ok - faulty.failed} retries, {faulty.failed} failed; "
                f"{faulty.rate / ours.rate:.0%} of the run without faults")  # fmt: skip
        print_row(row("bkjob-export, concurrency 8, 5% HTTP 5xx", faulty, ceiling(8), note))


HEADER = (
    "| client | steps | seconds | steps/s | ceiling/s | of ceiling | note |\n"
    "|---|---:|---:|---:|---:|---:|---|"
)


def main() -> None:
    load = "load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())
    print(f"latency {LATENCY_MS:g} ms per call; simulator in a subprocess; "
          f"{os.cpu_count()} CPUs, {load}\n")  # fmt: skip
    print(HEADER, flush=True)
    measure(lambda line: print(line, flush=True))
    print("\nafter: load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()))


if __name__ == "__main__":
    main()
