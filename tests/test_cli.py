"""The command line: every exit code, one-line errors, no tracebacks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.simulator import SimData, Simulator
from tests.e2e_helpers import APP_CODE, step_refs


def invoke(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(argv)
    out, err = capsys.readouterr()
    code = info.value.code
    return (code if isinstance(code, int) else 0), out, err


@pytest.fixture(scope="module")
def data() -> SimData:
    return SimData(seed=3, jobs=8)


def ids_file(tmp_path: Path, data: SimData) -> Path:
    path = tmp_path / "ids.csv"
    lines = ["bk_biz_id,job_instance_id,step_instance_id"]
    lines += [f"{r.bk_biz_id},{r.job_instance_id},{r.step_instance_id}" for r in step_refs(data)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.usefixtures("creds")
def test_exit_0_and_summary(
    data: SimData, sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = ids_file(tmp_path, data)
    out = tmp_path / "out"
    code, stdout, _ = invoke(
        ["run", "--api-url", sim.base_url, "--ids", str(ids), "--out", str(out)], capsys
    )
    assert code == 0
    assert f"{len(step_refs(data))} steps exported" in stdout
    assert (out / "report.html").exists() and "report:" in stdout
    assert json.loads((out / "manifest.json").read_text())["exit_code"] == 0


@pytest.mark.usefixtures("creds")
def test_exit_3_partial(
    data: SimData, sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = step_refs(data)[0]
    good = f"{ref.bk_biz_id}:{ref.job_instance_id}:{ref.step_instance_id}"  # type: ignore[union-attr]
    argv = ["fetch", "--api-url", sim.base_url, "--out", str(tmp_path), "--step", good]
    code, stdout, _ = invoke([*argv, "--step", "2:5:6"], capsys)
    assert code == 3
    assert "1 failed" in stdout


def test_exit_4_bad_credentials(
    data: SimData,
    sim: Simulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BK_APP_CODE", APP_CODE)
    monkeypatch.setenv("BK_APP_SECRET", "not-the-secret")
    monkeypatch.setenv("BK_USERNAME", "admin")
    ids = ids_file(tmp_path, data)
    code, _, err = invoke(
        ["fetch", "--api-url", sim.base_url, "--ids", str(ids), "--out", str(tmp_path / "o")],
        capsys,
    )
    assert code == 4
    assert "not-the-secret" not in err


@pytest.mark.usefixtures("creds")
def test_exit_4_unreachable(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    argv = ["fetch", "--api-url", f"http://127.0.0.1:{port}", "--max-retries", "0"]
    code, _, _ = invoke([*argv, "--out", str(tmp_path), "--job", "2:1", "--job", "2:2"], capsys)
    assert code == 4


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["run", "--bogus"], "--bogus"),
        (["run", "--step", "2:x:1"], "--step '2:x:1'"),
        (["run", "--job", "2"], "--job '2'"),
        (["run", "--concurrency", "0"], "--concurrency"),
        (["run", "--job", "2:1"], "missing --api-url"),
        (["run", "--format", "xlsx"], "--format"),
        (["frobnicate"], "No such command"),
    ],
)
def test_exit_2_one_line(
    argv: list[str], fragment: str, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    code, stdout, err = invoke([*argv, "--out", str(tmp_path / "o")], capsys)
    assert code == 2
    assert fragment in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "o").exists()  # nothing written


@pytest.mark.usefixtures("creds")
def test_exit_2_bad_id_file_names_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ids = tmp_path / "ids.csv"
    ids.write_text("bk_biz_id,job_instance_id,step_instance_id\n2,1,3\n2,x,3\n")
    argv = ["run", "--api-url", "http://127.0.0.1:9", "--ids", str(ids)]
    code, _, err = invoke([*argv, "--out", str(tmp_path / "o")], capsys)
    assert code == 2
    expected = f"{ids}, line 3: job_instance_id must be a positive integer, got 'x'"
    assert err.strip() == f"bkjob-export: error: {expected}"
    assert not (tmp_path / "o").exists()


@pytest.mark.usefixtures("creds")
def test_config_file_and_nothing_to_fetch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "c.toml"
    config.write_text('api_url = "http://127.0.0.1:9"\n')
    code, _, err = invoke(["fetch", "--config", str(config), "--out", str(tmp_path / "o")], capsys)
    assert code == 2 and "nothing to fetch" in err


def test_python_dash_m_and_version() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pipeline", "--version"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0 and "bkjob-export" in proc.stdout
