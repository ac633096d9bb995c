"""Discovery and --api through the command line: one clear line and exit 2 for a request
that cannot run, and a nightly one-liner without an ID file."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from pipeline.simulator import SimData, Simulator
from tests.e2e_helpers import APP_CODE, APP_SECRET, read_table
from tests.test_cli import invoke

UNUSED = "http://127.0.0.1:9"  # nothing listens: these must fail before any call


@pytest.mark.usefixtures("creds")
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "1d"], "--since needs --biz"),
        (["--since", "2099-01-01T00:00", "--biz", "2"], "is in the future"),
        (["--since", "1d", "--until", "2d", "--biz", "2"], "is not after --since"),
        (["--since", "soon", "--biz", "2"], "expected ISO-8601"),
        (["--since", "1d", "--biz", "2,x"], "expected business IDs"),
        (["--until", "1d", "--job", "2:5"], "--until needs --since"),
        (["--api", "esb-v4", "--job", "2:5"], "'esb-v4' is not one of"),
    ],
)
def test_bad_discovery_requests_exit_2_with_one_line(
    args: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = invoke(["fetch", "--api-url", UNUSED, "--out", str(tmp_path), *args], capsys)
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "steps").exists()


@pytest.mark.usefixtures("creds")
def test_the_nightly_line_needs_no_id_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    now = datetime.now(UTC).replace(second=0, microsecond=0)  # spans count back from the clock
    data = SimData(seed=14, jobs=40, job3=True, days=2, now=now)
    out = tmp_path / "out"
    with Simulator(data, app_code=APP_CODE, app_secret=APP_SECRET) as sim:
        code, stdout, _ = invoke(
            [
                "fetch",
                "--api-url",
                sim.base_url,
                "--since",
                "1d",
                "--biz",
                "2,3",
                "--out",
                str(out),
            ],
            capsys,
        )
    assert code == 0, stdout
    lo = int((now - timedelta(days=1)).timestamp() * 1000)
    want = {j.job_instance_id for j in data.jobs() if j.bk_biz_id in (2, 3)
            and int(j.create_time.timestamp() * 1000) >= lo}  # fmt: skip
    assert want
    steps = read_table(out, "steps").to_pylist()
    assert {s["job_instance_id"] for s in steps} == want
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["requested"] == len(want)
