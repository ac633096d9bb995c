"""``bkjob-export check`` against the simulator (and against nothing at all)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.check import run_check
from pipeline.config import Secret
from pipeline.simulator import SimData, Simulator
from tests.e2e_helpers import APP_CODE, APP_SECRET, settings_for
from tests.test_cli import invoke

UNUSED = Path("out-unused")  # check writes nothing


@pytest.fixture(scope="module")
def job3() -> Iterator[Simulator]:
    data = SimData(seed=41, jobs=20, job3=True)
    with Simulator(data, app_code=APP_CODE, app_secret=APP_SECRET, deny_biz=[1001]) as sim:
        yield sim


def topics(report_text: str) -> list[tuple[str, str]]:
    """(ok|FAIL, topic) of each line."""
    return [(line[:4].strip(), line[5:].split(":")[0]) for line in report_text.splitlines()]


@pytest.mark.usefixtures("creds")
def test_a_3x_site_one_line_each_and_a_denied_business(
    job3: Simulator, capsys: pytest.CaptureFixture[str]
) -> None:
    before = job3.stats.total()
    code, out, err = invoke(["check", "--api-url", job3.base_url, "--biz", "2,1001"], capsys)
    assert (code, err) == (4, "")
    assert topics(out) == [("ok", "URL"), ("ok", "credentials"), ("ok", "API"),
                           ("ok", "Job generation"), ("ok", "business 2"),
                           ("FAIL", "business 1001")]  # fmt: skip
    assert "--api auto uses esb-v3" in out and "3.x (IDs inside params ignored" in out
    assert "view_history" in out.splitlines()[-1]  # the hint
    assert job3.stats.total() - before <= 1 + 3 + 2  # GET /, three probes, one per business


def test_a_2x_site_uses_esb_v2_and_reads_permission_through_it() -> None:
    with Simulator(SimData(seed=42, jobs=5), app_code=APP_CODE, app_secret=APP_SECRET) as sim:
        report = run_check(settings_for(sim.base_url, UNUSED, biz=(2,)))
    assert report.exit_code == 0 and report.flavour == "esb-v2"
    text = report.text()
    assert "esb-v3 no (code 1306404)" in text and "2.x-era" in text
    assert "business 2: readable" in text


def test_an_explicit_flavour_that_does_not_answer_gets_a_hint() -> None:
    with Simulator(SimData(seed=42, jobs=5)) as sim:
        report = run_check(settings_for(sim.base_url, UNUSED, api="esb-v3"))
    api = next(line for line in report.lines if line.topic == "API")
    assert not api.ok and api.hint == "use --api esb-v2" and report.exit_code == 4


def test_rejected_credentials(job3: Simulator) -> None:
    settings = settings_for(job3.base_url, UNUSED, app_secret=Secret("wrong"))
    report = run_check(settings)
    cred = report.lines[1]
    assert (cred.ok, cred.topic) == (False, "credentials")
    assert "APP Secret verification failed" in cred.detail and "BK_APP_SECRET" in cred.hint
    assert "wrong" not in report.text()
    assert report.lines[2].hint == "fix the credentials first"


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_the_url_line_names_the_stage_that_failed(job3: Simulator) -> None:
    cases = {
        f"http://127.0.0.1:{closed_port()}": "TCP to 127.0.0.1",
        "http://bkjob-check.invalid": "DNS: cannot resolve 'bkjob-check.invalid'",
        job3.base_url.replace("http://", "https://"): "TLS with 127.0.0.1",  # plain HTTP there
    }
    for url, detail in cases.items():
        report = run_check(settings_for(url, UNUSED, timeout=5.0))
        (line,) = report.lines
        assert (line.ok, line.topic) == (False, "URL") and detail in line.detail, line
        assert line.hint and report.exit_code == 4


def test_missing_credentials_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = invoke(["check", "--api-url", "http://127.0.0.1:9"], capsys)
    assert code == 2 and "missing credentials" in err
