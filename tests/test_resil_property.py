"""The ledger's promise under any schedule of faults: every requested ID ends in exactly
one place, its rows in ``steps`` or one row in ``fetch_errors``, never both, never neither."""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

import pyarrow.dataset as ds
from hypothesis import example, given, settings
from hypothesis import strategies as st

from pipeline.ids import JobRef, Ref, StepRef
from pipeline.runner import fetch
from pipeline.simulator import FAULT_KINDS, FaultConfig, SimData, Simulator
from tests.e2e_helpers import job_refs, settings_for, step_refs
from tests.resil_helpers import no_wait_tuning

DATA = SimData(seed=4, jobs=4)
#: steps, one whole job, and IDs the API does not know
REFS: list[Ref] = [
    *step_refs(DATA)[2:],
    job_refs(DATA)[0],
    StepRef(2, 999, 1),
    JobRef(3, 998),
]


@st.composite
def fault_schedules(draw: st.DrawFn) -> FaultConfig:
    """Rates per kind (together at most 1: an outage), a fault seed, and faults on every
    attempt or only on the first few. Timeouts answer at once (ESB's 1306201), to keep
    runs short."""
    rates = [draw(st.sampled_from([0.0, 0.0, 0.1, 0.3, 0.6, 1.0])) for _ in FAULT_KINDS]
    total = sum(rates)
    scale = 1.0 / total if total > 1.0 else 1.0
    by_kind = {f"{k}_rate": r * scale for k, r in zip(FAULT_KINDS, rates, strict=True)}
    return FaultConfig(
        **by_kind,
        seed=draw(st.integers(0, 2**16)),
        faulty_attempts=draw(st.sampled_from([None, 1, 2])),
        hang_s=0.0,
    )


def places(out: Path) -> tuple[Counter[tuple[int, int, int]], Counter[tuple[int, int, int | None]]]:
    """Rows per step in ``steps`` and per ID in ``fetch_errors``, counted with pyarrow."""
    keys = ["bk_biz_id", "job_instance_id", "step_instance_id"]
    steps = ds.dataset(out / "steps", partitioning="hive").to_table(columns=keys)
    errors = ds.dataset(out / "fetch_errors", partitioning="hive").to_table(columns=keys)
    as_rows = [zip(*(t.column(k).to_pylist() for k in keys), strict=True) for t in (steps, errors)]
    return Counter(as_rows[0]), Counter(as_rows[1])


@settings(max_examples=14, deadline=None, database=None, derandomize=True)
@example(faults=FaultConfig(reset_rate=1.0), max_retries=0, deny=())  # an outage: the run stops
@example(faults=FaultConfig(error_5xx_rate=0.5, seed=3), max_retries=1, deny=(2,))
@given(
    faults=fault_schedules(),
    max_retries=st.integers(0, 3),
    deny=st.sampled_from([(), (2,)]),  # no permission on one business
)
def test_every_id_ends_in_exactly_one_place(
    faults: FaultConfig, max_retries: int, deny: tuple[int, ...]
) -> None:
    server = Simulator(DATA, faults=faults, deny_biz=deny)
    with tempfile.TemporaryDirectory() as tmp, server as sim:
        out = Path(tmp)
        result = fetch(settings_for(sim.base_url, out, concurrency=2), REFS,
                       tuning=no_wait_tuning(max_retries))  # fmt: skip
        steps, errors = places(out)
    assert max(steps.values(), default=1) == 1, "a step written twice"
    assert max(errors.values(), default=1) == 1, "an ID with two fetch_errors rows"
    written_jobs = Counter((b, j) for b, j, _ in steps)
    for ref in REFS:
        if isinstance(ref, StepRef):
            key = (ref.bk_biz_id, ref.job_instance_id, ref.step_instance_id)
            in_data = steps[key] == 1
            in_errors = errors[key] == 1
        else:
            job = DATA.job(ref.bk_biz_id, ref.job_instance_id)
            n_written = written_jobs[(ref.bk_biz_id, ref.job_instance_id)]
            in_data = n_written > 0
            assert not in_data or job is not None and n_written == len(job.steps)
            in_errors = errors[(ref.bk_biz_id, ref.job_instance_id, None)] == 1
        assert in_data != in_errors, f"{ref}: in steps {in_data}, in fetch_errors {in_errors}"
    assert sum(errors.values()) == result.manifest.failed
    assert len(steps) == result.manifest.exported
    assert (result.exit_code == 0) == (not errors)
