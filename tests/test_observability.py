"""What a run tells the people and machines watching it: JSON log lines ending in a
summary, no progress bar under cron (a bar on a terminal), Prometheus text metrics."""

from __future__ import annotations

import io
import json
import logging
import os
import pty
import re
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from pipeline import logs
from pipeline.cli import main
from pipeline.ids import Ref, StepRef
from pipeline.runner import fetch
from pipeline.simulator import FaultConfig, SimData, Simulator
from tests.e2e_helpers import APP_CODE, APP_SECRET, settings_for, step_refs
from tests.resil_helpers import no_wait_tuning

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABELS = r'\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\}'
NUMBER = r"[-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+|NaN|Inf)"
SAMPLE = re.compile(rf"^(?P<name>{NAME})(?P<labels>{LABELS})? (?P<value>{NUMBER})$")
COMMENT = re.compile(rf"^# (?P<what>HELP|TYPE) (?P<name>{NAME}) (?P<text>.+)$")


@pytest.fixture(scope="module")
def data() -> SimData:
    return SimData(seed=4, jobs=4)


def fetch_argv(sim: Simulator, refs: list[Ref], out: Path) -> list[str]:
    argv = ["fetch", "--api-url", sim.base_url, "--out", str(out)]
    for r in refs:
        assert isinstance(r, StepRef)
        argv += ["--step", f"{r.bk_biz_id}:{r.job_instance_id}:{r.step_instance_id}"]
    return argv


@pytest.mark.usefixtures("creds")
def test_json_logs_are_one_object_per_line_ending_in_a_summary_and_no_bar_without_tty(
    data: SimData, sim: Simulator, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    refs = step_refs(data)
    argv = fetch_argv(sim, refs, tmp_path) + ["--step", "2:5:6", "--log-format", "json", "-v"]
    with pytest.raises(SystemExit) as info:
        main(argv)
    stdout, stderr = capsys.readouterr()
    assert info.value.code == 3
    entries = [json.loads(line) for line in stderr.splitlines()]  # every line is JSON
    assert len(entries) >= 3 and all(isinstance(e, dict) for e in entries)
    assert all({"time", "level", "message"} <= e.keys() for e in entries)
    assert any(e.get("event") == "fetch_error" and e["level"] == "warning" for e in entries)
    summary = entries[-1]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert summary["event"] == "summary"
    for key in ("requested", "exported", "failed", "exit_code", "counts", "run_id"):
        assert summary[key] == manifest[key], key
    assert (summary["requested"], summary["exported"], summary["failed"]) == (
        len(refs) + 1,
        len(refs),
        1,
    )
    # stdout is no terminal here: no bar, no control codes, just the summary for people
    assert "\x1b[" not in stdout + stderr and "━" not in stdout
    assert stdout.splitlines()[0].startswith(f"{len(refs)} steps exported, 1 failed")


def test_a_terminal_gets_a_progress_bar(data: SimData, sim: Simulator, tmp_path: Path) -> None:
    """The other side of "no bar under cron": with stdout on a pty, rich draws one."""
    primary, secondary = pty.openpty()
    env = {**os.environ, "BK_APP_CODE": APP_CODE, "BK_APP_SECRET": APP_SECRET,
           "BK_USERNAME": "admin", "TERM": "xterm", "COLUMNS": "120"}  # fmt: skip
    argv = [sys.executable, "-m", "pipeline", *fetch_argv(sim, step_refs(data), tmp_path)]
    child = subprocess.Popen(argv, stdout=secondary, stderr=subprocess.PIPE, env=env)
    os.close(secondary)
    seen = b""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(primary)
    _, stderr = child.communicate(timeout=60)
    assert child.returncode == 0, stderr
    text = seen.decode(errors="replace")
    assert "fetch" in text and "━" in text and "0 failed" in text
    assert f"{len(step_refs(data))}/{len(step_refs(data))}" in text


def parse_prometheus(text: str) -> tuple[dict[str, dict[str, str]], dict[str, float]]:
    """(HELP/TYPE per metric, value per sample 'name{labels}'); asserts the grammar."""
    meta: dict[str, dict[str, str]] = {}
    samples: dict[str, float] = {}
    assert text.endswith("\n")
    for line in text.splitlines():
        comment, sample = COMMENT.match(line), SAMPLE.match(line)
        if comment:
            what, name = comment["what"], comment["name"]
            assert what not in meta.get(name, {}), f"second {what} for {name}"
            assert name not in {s.split("{")[0] for s in samples}, f"{what} after samples"
            meta.setdefault(name, {})[what] = comment["text"]
        else:
            assert sample, f"not a Prometheus sample line: {line!r}"
            assert sample["name"] in meta and meta[sample["name"]].get("TYPE") in (
                "gauge",
                "counter",
            )
            samples[sample["name"] + (sample["labels"] or "")] = float(sample["value"])
    assert all(set(m) == {"HELP", "TYPE"} for m in meta.values())
    return meta, samples


def test_metrics_file_is_prometheus_text_with_counts_retries_and_duration(
    data: SimData, tmp_path: Path
) -> None:
    refs = step_refs(data)
    metrics = tmp_path / "textfile" / "bkjob.prom"
    faults = FaultConfig(error_5xx_rate=1.0, faulty_attempts=1)  # one retry per ID
    with Simulator(data, faults=faults) as server:
        settings = settings_for(server.base_url, tmp_path / "out", metrics_file=metrics)
        result = fetch(settings, [*refs, StepRef(2, 5, 6)], tuning=no_wait_tuning(3))
    _, samples = parse_prometheus(metrics.read_text())
    m = result.manifest
    expected: dict[str, Any] = {
        "bkjob_export_requested": len(refs) + 1,
        "bkjob_export_exported_steps": len(refs),
        "bkjob_export_failed": 1,
        "bkjob_export_retries": len(refs) + 1,  # the unknown ID was retried too (5xx)
        "bkjob_export_exit_code": 3,
        'bkjob_export_rows_written{table="steps"}': len(refs),
        'bkjob_export_rows_written{table="fetch_errors"}': 1,
    }
    for name, value in expected.items():
        assert samples[name] == value, name
    started = datetime.fromisoformat(m.started_at.isoformat())
    duration = (m.finished_at - started).total_seconds()
    assert samples["bkjob_export_duration_seconds"] == pytest.approx(duration, abs=1e-6)
    assert samples["bkjob_export_duration_seconds"] > 0
    # to the microsecond: node_exporter alerts on time() - this > 90000
    assert samples["bkjob_export_last_run_timestamp_seconds"] == m.finished_at.timestamp()
    assert oct(metrics.stat().st_mode & 0o777) == "0o644"
    assert [p.name for p in metrics.parent.iterdir()] == ["bkjob.prom"]  # no temp file left


def test_log_lines_mask_secrets_in_extra_fields_tracebacks_and_json_escapes() -> None:
    secret = 'p"w\\d-Zq9x'
    stream = io.StringIO()
    logs.configure(verbose=True, quiet=False, fmt="json", secrets=[secret], stream=stream)
    try:
        raise RuntimeError(f"boom {secret}")
    except RuntimeError:
        logs.log.exception("failed", extra={"event": "x", "detail": f"token={secret}"})
    logs.log.info("plain %s", secret)
    for handler in list(logs.log.handlers):
        logs.log.removeHandler(handler)
    text = stream.getvalue()
    escaped = json.dumps(secret)[1:-1]
    assert secret not in text and escaped not in text and "Zq9x" not in text
    entries = [json.loads(line) for line in text.splitlines()]
    assert entries[0]["detail"] == "token=***" and entries[1]["message"] == "plain ***"
    assert logging.getLogger(logs.LOGGER_NAME) is logs.log
