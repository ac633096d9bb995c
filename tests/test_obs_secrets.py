"""A secret given by env and one given by --config never show: not in the logs (text or
JSON), the error lines, fetch_errors, manifest.json, _runs/, the metrics file or the
report, even when the server echoes the credentials back in its error messages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from pipeline.cli import main
from pipeline.ids import Ref, StepRef
from pipeline.simulator import SimData, Simulator
from pipeline.simulator.app import Request
from pipeline.simulator.replies import Reply, json_reply
from tests.e2e_helpers import APP_CODE, step_refs
from tests.resil_helpers import rows

ENV_SECRET = "Env-S3cret-Q7x9w"
CONFIG_TOKEN = "Cfg-T0ken-Z4k8p"


class Echo:
    """A server that quotes the credentials header back: always for one step (a fatal
    answer), on the first attempt of another (a retried one)."""

    def __init__(self, sim: Simulator, fatal: int, transient: int) -> None:
        self.fatal, self.transient, self.seen = fatal, transient, 0
        self._inner = sim.app.handle
        sim.app.handle = self  # type: ignore[method-assign]

    def __call__(self, req: Request) -> Reply:
        step = orjson.loads(req.body or b"{}").get("step_instance_id")
        header = req.headers.get("x-bkapi-authorization", "")
        if step == self.fatal:
            return self._echo(1240003, f"Bad Request: X-Bkapi-Authorization={header}")
        if step == self.transient and self.seen == 0:
            self.seen += 1
            return self._echo(1240001, f"Service unavailable, request was {header}")
        return self._inner(req)

    @staticmethod
    def _echo(code: int, message: str) -> Reply:
        body = {"result": False, "code": code, "message": message, "data": None}
        return json_reply(orjson.dumps(body))


@pytest.fixture(scope="module")
def data() -> SimData:
    return SimData(seed=4, jobs=4)


@pytest.fixture
def echoing(data: SimData) -> Iterator[tuple[Simulator, list[Ref]]]:
    refs = step_refs(data)
    fatal, transient = refs[0], refs[1]
    assert isinstance(fatal, StepRef) and isinstance(transient, StepRef)
    with Simulator(data, app_code=APP_CODE, app_secret=ENV_SECRET) as sim:
        Echo(sim, fatal.step_instance_id, transient.step_instance_id)
        yield sim, refs


def leaks(text: str | bytes) -> list[str]:
    raw = text.encode() if isinstance(text, str) else text
    return [s for s in (ENV_SECRET, CONFIG_TOKEN) if s.encode() in raw]


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_secrets_never_appear_anywhere(
    log_format: str,
    echoing: tuple[Simulator, list[Ref]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sim, refs = echoing
    monkeypatch.setenv("BK_APP_CODE", APP_CODE)
    monkeypatch.setenv("BK_APP_SECRET", ENV_SECRET)
    config = tmp_path / "bkjob.toml"
    config.write_text(f'token = "{CONFIG_TOKEN}"\napi_url = "{sim.base_url}"\n')
    ids = tmp_path / "ids.csv"
    ids.write_text(
        "bk_biz_id,job_instance_id,step_instance_id\n"
        + "".join(
            f"{r.bk_biz_id},{r.job_instance_id},{getattr(r, 'step_instance_id', '')}\n"
            for r in refs
        )  # fmt: skip
    )
    out, metrics = tmp_path / "out", tmp_path / "metrics" / "bkjob.prom"
    argv = ["run", "--config", str(config), "--ids", str(ids), "--out", str(out), "-v",
            "--log-format", log_format, "--metrics-file", str(metrics)]  # fmt: skip
    with pytest.raises(SystemExit) as info:
        main(argv)
    stdout, stderr = capsys.readouterr()
    assert info.value.code == 3  # the step whose answer is always an echo failed for good
    # the echo really reached the tool: its error row holds the masked header
    (error,) = rows(out, "fetch_errors")
    assert "X-Bkapi-Authorization=" in error["message"] and "***" in error["message"]
    assert "Bad Request" in stderr  # ... and it was logged
    assert leaks(stdout) == [] and leaks(stderr) == []
    files = [p for p in out.rglob("*") if p.is_file()] + [metrics]
    assert {p.name for p in files} >= {"manifest.json", "report.html", "bkjob.prom"}
    assert any(p.parent.name == "_runs" for p in files)
    for path in files:
        assert leaks(path.read_bytes()) == [], path


def test_error_lines_of_a_rejected_run_hold_no_secret(
    data: SimData, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The exit-4 line quotes the server's message, and both secrets came from the file."""
    with Simulator(data, app_code=APP_CODE, app_secret="not-what-the-client-has") as sim:
        config = tmp_path / "c.toml"
        config.write_text(
            f'app_code = "{APP_CODE}"\napp_secret = "{ENV_SECRET}"\ntoken = "{CONFIG_TOKEN}"\n'
        )
        argv = ["fetch", "--config", str(config), "--api-url", sim.base_url,
                "--out", str(tmp_path / "out"), "--job", "2:1"]  # fmt: skip
        with pytest.raises(SystemExit) as info:
            main(argv)
    stdout, stderr = capsys.readouterr()
    assert info.value.code == 4
    assert leaks(stdout + stderr) == []
    assert "APP Secret verification failed" in stderr
