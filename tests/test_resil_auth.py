"""Failing fast on what cannot get better: rejected credentials stop the run within the
first --concurrency answers (exit 4, one line); no permission on one business ends in
fetch_errors for that business only."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from pipeline.cli import main
from pipeline.ids import Ref
from pipeline.runner import fetch
from pipeline.simulator import SimData, Simulator
from tests.e2e_helpers import APP_CODE, APP_SECRET, settings_for, step_refs
from tests.resil_helpers import no_wait_tuning, rows, step_calls


@pytest.fixture(scope="module")
def data() -> SimData:
    return SimData(seed=11, jobs=30)


@pytest.fixture
def sim(data: SimData) -> Iterator[Simulator]:
    with Simulator(data, app_code=APP_CODE, app_secret=APP_SECRET) as server:
        yield server


def write_ids(path: Path, refs: list[Ref]) -> Path:
    lines = ["bk_biz_id,job_instance_id,step_instance_id"]
    lines += [
        f"{r.bk_biz_id},{r.job_instance_id},{getattr(r, 'step_instance_id', '')}" for r in refs
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("concurrency", [1, 4])
def test_rejected_secret_stops_within_concurrency_answers_exit_4_one_line(
    concurrency: int,
    data: SimData,
    sim: Simulator,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BK_APP_CODE", APP_CODE)
    monkeypatch.setenv("BK_APP_SECRET", "wrong-secret-value")
    monkeypatch.setenv("BK_USERNAME", "admin")
    refs = step_refs(data)
    ids = write_ids(tmp_path / "ids.csv", refs)
    out = tmp_path / "out"
    argv = ["fetch", "--api-url", sim.base_url, "--ids", str(ids), "--out", str(out), "-q"]
    with pytest.raises(SystemExit) as info:
        main([*argv, "--concurrency", str(concurrency)])
    stdout, stderr = capsys.readouterr()
    assert info.value.code == 4
    assert 1 <= step_calls(sim) <= concurrency  # never more than one call per worker
    assert step_calls(sim, "error:1306000") == step_calls(sim)
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and "APP Secret verification failed" in lines[0], stderr
    assert "wrong-secret-value" not in stderr + stdout
    errors = rows(out, "fetch_errors")
    assert len(errors) == len(refs)  # every ID accounted for, the unasked with attempts 0
    assert {e["error_kind"] for e in errors} == {"auth"}
    assert sum(e["attempts"] for e in errors) == step_calls(sim)


def test_no_permission_on_one_business_leaves_the_others_running(
    data: SimData, tmp_path: Path
) -> None:
    refs = step_refs(data)
    denied = refs[0].bk_biz_id
    # the denied business first: the first --concurrency answers are all "no permission"
    refs.sort(key=lambda r: r.bk_biz_id != denied)
    n_denied = sum(1 for r in refs if r.bk_biz_id == denied)
    assert n_denied > 2 and n_denied < len(refs)
    with Simulator(data, deny_biz=[denied]) as sim:
        settings = settings_for(sim.base_url, tmp_path, concurrency=2)
        result = fetch(settings, refs, tuning=no_wait_tuning(max_retries=3))
        assert step_calls(sim) == len(refs)  # each asked once: 9900403 is not retried
        assert step_calls(sim, "error:9900403") == n_denied
    assert result.exit_code == 3
    errors = rows(tmp_path, "fetch_errors")
    assert {e["bk_biz_id"] for e in errors} == {denied} and len(errors) == n_denied
    assert {(e["error_kind"], e["api_code"], e["attempts"]) for e in errors} == {
        ("auth", 9900403, 1)
    }
    steps = rows(tmp_path, "steps")
    assert len(steps) == len(refs) - n_denied
    assert denied not in {s["bk_biz_id"] for s in steps}


def test_no_permission_anywhere_is_exit_4(data: SimData, tmp_path: Path) -> None:
    refs = step_refs(data)
    businesses = {r.bk_biz_id for r in refs}
    with Simulator(data, deny_biz=businesses) as sim:
        result = fetch(settings_for(sim.base_url, tmp_path, concurrency=2), refs)
        calls = step_calls(sim)
    assert result.exit_code == 4
    assert len(rows(tmp_path, "fetch_errors")) == len(refs)
    assert calls < len(refs)  # stopped once every business had said no
