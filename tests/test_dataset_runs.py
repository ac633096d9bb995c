"""Run history (OUT/_runs/<run_id>.json beside manifest.json) and two runs on one OUT."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.dataset import DatasetWriter
from pipeline.errors import OutputError
from pipeline.ids import JobRef
from pipeline.runner import fetch
from pipeline.simulator import FaultConfig, SimData, Simulator
from tests.e2e_helpers import APP_CODE, APP_SECRET, job_refs, settings_for

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def data() -> SimData:
    return SimData(seed=9, jobs=4)


def test_every_run_leaves_its_manifest_under_runs(
    data: SimData, sim: Simulator, tmp_path: Path
) -> None:
    refs = job_refs(data)
    first = fetch(settings_for(sim.base_url, tmp_path), refs[:2])
    second = fetch(settings_for(sim.base_url, tmp_path), refs[1:])
    runs = sorted((tmp_path / "_runs").iterdir())
    ids = [first.manifest.run_id, second.manifest.run_id]
    assert [p.name for p in runs] == sorted(f"{r}.json" for r in ids)
    for result in (first, second):
        kept = json.loads((tmp_path / "_runs" / f"{result.manifest.run_id}.json").read_text())
        assert kept == json.loads(json.dumps(result.manifest.to_json()))
        assert kept["counts"]["jobs"] == (2 if result is first else len(refs) - 1)
    latest = json.loads((tmp_path / "manifest.json").read_text())
    assert latest["run_id"] == second.manifest.run_id
    assert oct((tmp_path / "_runs" / runs[0].name).stat().st_mode & 0o777) == "0o644"
    # the run history is not a table: readers' globs and the writer's layout check skip it
    assert not list((tmp_path / "_runs").rglob("*.parquet"))


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BK_", "BKJOB_"))}
    env.update(BK_APP_CODE=APP_CODE, BK_APP_SECRET=APP_SECRET, BK_USERNAME="admin")
    env["PYTHONPATH"] = str(ROOT)
    return env


def test_a_second_run_on_the_same_out_refuses_with_one_line(
    data: SimData,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    job = next(iter(data.jobs()))
    target = f"{job.bk_biz_id}:{job.job_instance_id}"
    out = tmp_path / "out"
    hang = FaultConfig(timeout_rate=1.0, hang_s=120)
    with Simulator(data, app_code=APP_CODE, app_secret=APP_SECRET, faults=hang) as slow:
        argv = ["fetch", "--api-url", slow.base_url, "--job", target, "--out", str(out),
                "--max-retries", "0", "--timeout", "300", "-q"]  # fmt: skip
        first = subprocess.Popen([sys.executable, "-m", "pipeline", *argv], env=_env(),
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        try:
            assert slow.wait_hanging(1, timeout=60)  # the first run is fetching, OUT locked
            for var, value in _env().items():
                if var.startswith("BK_"):
                    monkeypatch.setenv(var, value)
            with pytest.raises(SystemExit) as exit_info:
                main(argv)
        finally:
            first.kill()
            first.wait()
    stdout, stderr = capsys.readouterr()
    assert exit_info.value.code == 1
    assert (stdout, stderr) == (
        "",
        f"bkjob-export: error: another bkjob-export run is writing to {out} (pid {first.pid})\n",
    )
    assert not (out / "manifest.json").exists() and not (out / "_runs").exists()


def test_a_refused_run_leaves_out_as_it_was(data: SimData, sim: Simulator, tmp_path: Path) -> None:
    """A run that refuses never touches the dataset it found."""
    job = next(iter(data.jobs()))
    ref = JobRef(job.bk_biz_id, job.job_instance_id)
    fetch(settings_for(sim.base_url, tmp_path), [ref])
    before = {p: p.read_bytes() for p in tmp_path.rglob("*.parquet")}
    with DatasetWriter(tmp_path, run_id="holder"):
        with pytest.raises(OutputError, match="another bkjob-export run is writing"):
            fetch(settings_for(sim.base_url, tmp_path), [ref])
    assert {p: p.read_bytes() for p in tmp_path.rglob("*.parquet")} == before
    assert len(list((tmp_path / "_runs").iterdir())) == 1
