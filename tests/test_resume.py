"""Kill and resume for real: ``python -m pipeline fetch`` in a child process, SIGKILLed (or
sent SIGINT) once its first checkpoint is on disk, then ``--resume``: the same rows as a
clean run, fewer calls, nothing half-written visible at any point."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from pipeline.cli import main
from pipeline.ids import Ref, dedupe
from pipeline.runner import fetch
from pipeline.simulator import FaultConfig, SimData, Simulator
from pipeline.simulator.app import Request
from pipeline.simulator.replies import Reply
from tests.e2e_helpers import APP_CODE, APP_SECRET, job_refs, settings_for, step_refs
from tests.resil_helpers import fetch_calls, leftovers, rows

CHECKPOINT_EVERY = 20
#: step calls the server answers before it holds the rest: the child cannot finish early
GATE_AFTER = 3 * CHECKPOINT_EVERY
TABLES = ("steps", "step_hosts", "fetch_errors")


class Gate:
    """Holds get_step_instance_status calls after the first ``after`` until opened."""

    def __init__(self, sim: Simulator, after: int) -> None:
        self.after, self.seen = after, 0
        self.opened = threading.Event()
        self._lock = threading.Lock()
        self._inner = sim.app.handle
        sim.app.handle = self  # type: ignore[method-assign]

    def __call__(self, req: Request) -> Reply:
        if "get_step_instance_status" in req.path:
            with self._lock:
                self.seen += 1
                held = self.seen > self.after
            if held:
                self.opened.wait(60)
        return self._inner(req)


@pytest.fixture(scope="module")
def data() -> SimData:
    return SimData(seed=7, jobs=40)


@pytest.fixture(scope="module")
def refs(data: SimData) -> list[Ref]:
    return step_refs(data) + job_refs(data)[:2]  # steps, and two whole jobs


@pytest.fixture
def sim(data: SimData) -> Iterator[Simulator]:
    server = Simulator(
        data, app_code=APP_CODE, app_secret=APP_SECRET, faults=FaultConfig(latency_ms=2)
    )
    with server:
        yield server


@pytest.fixture(scope="module")
def clean(data: SimData, refs: list[Ref], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clean")
    with Simulator(data) as server:
        assert fetch(settings_for(server.base_url, out), refs).exit_code == 0
    return out


def ids_csv(path: Path, refs: list[Ref]) -> Path:
    lines = ["bk_biz_id,job_instance_id,step_instance_id"]
    lines += [
        f"{r.bk_biz_id},{r.job_instance_id},{getattr(r, 'step_instance_id', '')}" for r in refs
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def argv(sim: Simulator, ids: Path, out: Path) -> list[str]:
    return ["fetch", "--api-url", sim.base_url, "--ids", str(ids), "--out", str(out), "-q",
            "--concurrency", "4", "--checkpoint-every", str(CHECKPOINT_EVERY)]  # fmt: skip


def start_child(args: list[str]) -> subprocess.Popen[str]:
    env = {**os.environ, "BK_APP_CODE": APP_CODE, "BK_APP_SECRET": APP_SECRET,
           "BK_USERNAME": "admin"}  # fmt: skip
    return subprocess.Popen([sys.executable, "-m", "pipeline", *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip


def wait_for_checkpoint(child: subprocess.Popen[str], out: Path) -> None:
    """Bounded polling of the file system until the child's first checkpoint is there."""
    deadline = time.monotonic() + 60
    while not list((out / "_staging").glob("ckpt-*.json")):
        assert child.poll() is None, f"child ended early: {child.communicate()}"
        assert time.monotonic() < deadline, "no checkpoint within 60 s"
        time.sleep(0.01)


def resume(sim: Simulator, args: list[str], capsys: pytest.CaptureFixture[str]) -> int:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("BK_APP_CODE", APP_CODE)
        mp.setenv("BK_APP_SECRET", APP_SECRET)
        mp.setenv("BK_USERNAME", "admin")
        before = fetch_calls(sim)
        with pytest.raises(SystemExit) as info:
            main([*args, "--resume"])
    capsys.readouterr()
    assert info.value.code == 0
    return fetch_calls(sim) - before


def assert_same_as_clean(out: Path, clean: Path) -> None:
    for table in TABLES:
        assert rows(out, table) == rows(clean, table), table
    ids = [r["step_instance_id"] for r in rows(out, "steps")]
    assert len(ids) == len(set(ids))
    assert leftovers(out) == []


def test_sigkill_then_resume_gives_the_clean_rows_with_fewer_calls(
    sim: Simulator,
    refs: list[Ref],
    clean: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out, args = tmp_path / "out", argv(sim, ids_csv(tmp_path / "ids.csv", refs), tmp_path / "out")
    gate = Gate(sim, GATE_AFTER)
    child = start_child(args)
    try:
        wait_for_checkpoint(child, out)
        child.kill()
        assert child.wait(30) == -signal.SIGKILL
    finally:
        gate.opened.set()
        child.kill()
        child.communicate()
    killed_calls = fetch_calls(sim)
    # nothing half-written is visible: staged files carry a name no reader's glob matches
    assert not list(out.rglob("*.parquet")) and not (out / "manifest.json").exists()
    resumed_calls = resume(sim, args, capsys)
    wanted = len(dedupe(refs))  # a clean run makes one call per ID
    assert resumed_calls < wanted and killed_calls + resumed_calls >= wanted
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["resumed"] >= CHECKPOINT_EVERY and manifest["exit_code"] == 0
    assert manifest["requested"] == len(dedupe(refs))  # steps of a requested job fold into it
    assert_same_as_clean(out, clean)


def test_sigint_exits_130_with_one_line_and_resume_completes(
    sim: Simulator,
    refs: list[Ref],
    clean: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    out, args = tmp_path / "out", argv(sim, ids_csv(tmp_path / "ids.csv", refs), tmp_path / "out")
    gate = Gate(sim, GATE_AFTER)
    child = start_child(args)
    try:
        wait_for_checkpoint(child, out)
        child.send_signal(signal.SIGINT)
        gate.opened.set()  # let the requests in flight end, so the child can stop cleanly
        stdout, stderr = child.communicate(timeout=60)
    finally:
        gate.opened.set()
        child.kill()
    assert child.returncode == 130
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bkjob-export: error: interrupted"), stderr
    assert "--resume" in lines[0] and "Traceback" not in stderr
    assert not list(out.rglob("*.parquet"))
    resumed_calls = resume(sim, args, capsys)
    assert resumed_calls < len(dedupe(refs))
    manifest: dict[str, Any] = json.loads((out / "manifest.json").read_text())
    assert manifest["resumed"] >= CHECKPOINT_EVERY
    assert_same_as_clean(out, clean)
