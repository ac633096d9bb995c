"""The fetcher's bound is on requests in flight: a worker backing off before a retry gives
its slot away. And the session reads the environment once, not on every call."""

from __future__ import annotations

import threading
import time
from base64 import b64encode
from typing import Any

import pytest
import requests
import urllib3

from pipeline.client import new_session
from pipeline.errors import RetriableApiError
from pipeline.fetcher import Fetcher
from pipeline.ids import StepRef
from pipeline.retry import RetryPolicy
from pipeline.transport import FastSession


class FakeClient:
    """Counts calls in flight; step 1 fails once; ``hold`` blocks calls until set."""

    def __init__(self) -> None:
        self.in_flight = self.max_in_flight = 0
        self.done: list[int] = []
        self.hold = threading.Event()
        self.hold.set()
        self._lock = threading.Lock()
        self._failed_once = False

    def step_status(self, biz: int, job: int, step: int) -> Any:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            assert self.hold.wait(10)
            with self._lock:
                if step == 1 and not self._failed_once:
                    self._failed_once = True
                    raise RetriableApiError("http", "HTTP 503", http_status=503)
                self.done.append(step)
            return {"is_finished": True}
        finally:
            with self._lock:
                self.in_flight -= 1


def test_a_backoff_does_not_hold_the_only_slot() -> None:
    client = FakeClient()
    others_ran = threading.Event()

    def backoff(seconds: float) -> None:
        # step 1 waits to retry; with one slot, steps 2 and 3 must get through meanwhile
        others_ran.wait(10)

    def finished(step: int) -> None:
        if {2, 3} <= set(client.done):
            others_ran.set()

    fetcher = Fetcher(client, concurrency=1, policy=RetryPolicy(max_retries=2),  # type: ignore[arg-type]
                      sleep=backoff)  # fmt: skip
    results = []
    for result in fetcher.fetch_all([StepRef(2, 1, 1), StepRef(2, 1, 2), StepRef(2, 1, 3)]):
        results.append(result)
        finished(0)
    assert others_ran.is_set()
    assert client.done[:2] == [2, 3] and client.done[-1] == 1  # step 1 after its backoff
    assert all(r.answer is not None for r in results)
    assert client.max_in_flight == 1


class SlowFlaky:
    """Every call takes a few ms (a stand-in for latency, not for synchronisation); every
    even step fails once. Notes calls in flight and the threads that made them."""

    def __init__(self) -> None:
        self.in_flight = self.max_in_flight = 0
        self.threads: set[int] = set()
        self.failed: set[int] = set()
        self._lock = threading.Lock()

    def step_status(self, biz: int, job: int, step: int) -> Any:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.threads.add(threading.get_ident())
            fail = step % 2 == 0 and step not in self.failed
            self.failed.add(step)
        time.sleep(0.002)
        with self._lock:
            self.in_flight -= 1
        if fail:
            raise RetriableApiError("http", "HTTP 503", http_status=503)
        return {"is_finished": True}


def test_helpers_never_push_requests_in_flight_over_concurrency() -> None:
    client = SlowFlaky()
    waits: list[float] = []
    fetcher = Fetcher(client, concurrency=3, sleep=waits.append)  # type: ignore[arg-type]
    refs = [StepRef(2, 1, n) for n in range(1, 61)]
    results = list(fetcher.fetch_all(refs))
    assert sum(1 for r in results if r.answer is not None) == len(refs)
    assert len(waits) == 30  # every even step backed off once ...
    assert len(client.threads) > 3  # ... and helpers worked meanwhile
    assert client.max_in_flight <= 3


def test_session_reads_proxy_and_ca_settings_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://user:pa%40ss@proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "internal.example")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/corp.pem")
    session = new_session(4, "https://paas.example.com")
    assert isinstance(session, FastSession) and session.trust_env is False
    pool = session._pool
    assert isinstance(pool, urllib3.ProxyManager)
    assert (pool.proxy.host, pool.proxy.port) == ("proxy.example", 3128)
    assert pool.proxy_headers["proxy-authorization"] == "Basic " + b64encode(b"user:pa@ss").decode()
    assert pool.connection_pool_kw["ca_certs"] == "/etc/ssl/corp.pem"
    direct = new_session(4, "https://internal.example")._pool  # NO_PROXY
    assert not isinstance(direct, urllib3.ProxyManager)


class Canned(requests.adapters.BaseAdapter):
    """A test's own adapter: answers without a network."""

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        response = requests.Response()
        response.status_code, response._content = 200, b'{"result": true, "data": 7}'
        response.request = request
        return response

    def close(self) -> None:
        pass


def test_a_mounted_adapter_still_answers_through_requests() -> None:
    session = new_session(2, "http://bkjob.invalid")
    session.mount("http://", Canned())
    answer = session.post("http://bkjob.invalid/x", data=b"{}", headers={}, timeout=1)
    assert answer.json() == {"result": True, "data": 7}
