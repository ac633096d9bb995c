"""Crash safety of DatasetWriter.commit: an interruption at every phase, then a new writer.

A commit is: prepare rewritten copies under staging -> write the journal -> apply its
actions one by one -> remove staging -> remove the journal. Before the journal exists an
interruption leaves OUT as it was; after, the next writer finishes the commit.
"""

from __future__ import annotations

import random
import shutil
import subprocess
import sys
import textwrap
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from pipeline.dataset import DatasetWriter
from pipeline.dataset.journal import JOURNAL
from pipeline.schema import TABLES
from tests.test_dataset_helpers import (
    DAY,
    Replace,
    Snapshot,
    duck_count,
    make_batch,
    rows,
    snapshot,
)
from tests.test_jobs import assert_jobs_agree

DAY2 = "2026-11-30"
REPLACE: Replace = {"fetch_errors": {(2, 1000, None)}, "step_hosts": {(3,)}}


class Crash(Exception):
    pass


def _base(out: Path) -> None:
    with DatasetWriter(out, run_id="r1") as w:
        w.write("steps", make_batch("steps", range(10), day=DAY))
        w.write("step_hosts", make_batch("step_hosts", [3, 3, 5, 6], ip=["a", "b", "c", "d"]))
        w.write("fetch_errors", make_batch("fetch_errors", [1], step_instance_id=None))
        w.commit({})


def _stage_second_run(w: DatasetWriter) -> None:
    # steps 5..7 started on another day; 8..14 are new; hosts of 5 replaced; 3 dropped
    w.write("steps", make_batch("steps", range(5, 15), day=[DAY2] * 3 + [DAY] * 7, run_id="r2"))
    w.write("step_hosts", make_batch("step_hosts", [5], ip="z", run_id="r2"))


def _crash_at(phase: str) -> Callable[[str], None]:
    def hook(seen: str) -> None:
        if seen == phase:
            raise Crash(phase)

    return hook


def _phases_and_clean_result(tmp_path: Path) -> tuple[list[str], Snapshot]:
    out = tmp_path / "clean"
    _base(out)
    phases: list[str] = []
    w = DatasetWriter(out, run_id="r2")
    w.fault_hook = phases.append
    with w:
        _stage_second_run(w)
        w.commit(REPLACE)
    return phases, snapshot(out)


def _assert_settled(out: Path) -> None:
    assert not (out / JOURNAL).exists()
    for table in TABLES:
        assert not [p for p in (out / table).rglob("*") if p.suffix == ".tmp"]
        ds.dataset(out / table, partitioning="hive").to_table()
        duck_count(out, table)
    assert_jobs_agree(out)  # jobs follow steps through every crash and recovery


def test_interruption_at_every_phase_rolls_forward_or_leaves_out_unchanged(
    tmp_path: Path,
) -> None:
    phases, clean = _phases_and_clean_result(tmp_path)
    assert phases[:2] == ["prepared", "journal written"]
    assert phases[-2:] == ["applied", "staging removed"]
    assert len(phases) > 8  # several actions: rewrite, unlink, publishes, placeholder
    base = tmp_path / "base"
    _base(base)
    before = snapshot(base)
    for i, phase in enumerate(phases):
        out = tmp_path / f"crash{i}"
        shutil.copytree(base, out)
        w = DatasetWriter(out, run_id="r2")
        w.fault_hook = _crash_at(phase)
        with pytest.raises(Crash), w:
            _stage_second_run(w)
            w.commit(REPLACE)
        with DatasetWriter(out, run_id="recover"):
            pass
        _assert_settled(out)
        assert snapshot(out) == (before if phase == "prepared" else clean), phase


def test_interrupted_roll_forward_is_rolled_forward_again(tmp_path: Path) -> None:
    _, clean = _phases_and_clean_result(tmp_path)
    out = tmp_path / "out"
    _base(out)
    w = DatasetWriter(out, run_id="r2")
    w.fault_hook = _crash_at("action 2")
    with pytest.raises(Crash), w:
        _stage_second_run(w)
        w.commit(REPLACE)
    recover = DatasetWriter(out, run_id="recover")
    recover.fault_hook = _crash_at("action 4")
    with pytest.raises(Crash), recover:
        pass
    with DatasetWriter(out, run_id="recover2"):
        pass
    _assert_settled(out)
    assert snapshot(out) == clean


def test_resume_after_interruption_before_the_journal_commits_the_same(tmp_path: Path) -> None:
    _, clean = _phases_and_clean_result(tmp_path)
    out = tmp_path / "out"
    _base(out)
    w = DatasetWriter(out, run_id="r2")
    w.fault_hook = _crash_at("prepared")
    with pytest.raises(Crash), w:
        _stage_second_run(w)
        w.checkpoint(["all"])
        w.commit(REPLACE)
    with DatasetWriter(out, run_id="r2", resume=True) as again:
        assert again.resumed_items() == {"all"}
        again.commit(REPLACE)
    _assert_settled(out)
    assert snapshot(out) == clean


_CHILD = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, sys.argv[2])
    from pipeline.dataset import DatasetWriter
    from tests.test_dataset_helpers import make_batch

    def say(phase):
        print(phase, flush=True)

    for i in range(10_000):
        w = DatasetWriter(sys.argv[1], run_id=f"r{i}", max_rows_per_file=7)
        w.fault_hook = say
        with w:
            day = ["2026-11-29", "2026-11-30", "2026-12-01"][i % 3]
            w.write("steps", make_batch("steps", range(i % 3, 40), day=day, run_id=f"r{i}"))
            say("written")
            w.write("step_hosts", make_batch("step_hosts", [i % 40] * 3, ip=["a", "b", "c"]))
            w.checkpoint(["x"])
            w.write("fetch_errors", make_batch("fetch_errors", [i % 5], run_id=f"r{i}"))
            w.commit({"fetch_errors": {(2, 1000, i % 5)}})
            say("committed")
    """
)


def test_sigkill_at_random_points_never_corrupts_or_duplicates(tmp_path: Path) -> None:
    script = tmp_path / "child.py"
    script.write_text(_CHILD)
    out = tmp_path / "out"
    root = Path(__file__).resolve().parent.parent
    rng = random.Random(20261129)
    committed = 0
    for trial in range(12):
        child = subprocess.Popen(
            [sys.executable, str(script), str(out), str(root)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        for _ in range(rng.randrange(1, 80)):
            line = child.stdout.readline()
            committed += line == "committed\n"
            if not line:
                break
        child.kill()
        child.wait()
        child.stdout.close()
        with DatasetWriter(out, run_id=f"recover{trial}"):
            pass
        _assert_settled(out)
        for table in TABLES:
            keys = Counter(tuple(r[k] for k in TABLES[table].key) for r in rows(out, table))
            assert not [k for k, n in keys.items() if n > 1 and table != "step_hosts"], table
        steps = {r["step_instance_id"] for r in rows(out, "steps")}
        if committed:
            assert set(range(2, 40)) <= steps
        hosts = Counter((r["step_instance_id"], r["ip"]) for r in rows(out, "step_hosts"))
        assert max(hosts.values(), default=1) == 1
    assert committed > 0
