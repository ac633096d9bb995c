"""``bkjob-export demo``: the simulator on a free loopback port and a full run against it,
with throw-away credentials, so a new user sees the whole product with one command."""

from __future__ import annotations

import secrets
import sys
from pathlib import Path
from typing import Literal, cast

from pipeline.config import Secret, Settings
from pipeline.ids import JobRef, Ref, StepRef
from pipeline.runner import RunResult, run
from pipeline.simulator import SimData, Simulator

DEMO_APP_CODE = "bkjob-export-demo"


def demo_refs(data: SimData) -> list[Ref]:
    """Most jobs step by step (the seed API), every fifth job whole (``--job``)."""
    refs: list[Ref] = []
    for i, job in enumerate(data.jobs()):
        if i % 5 == 4:
            refs.append(JobRef(job.bk_biz_id, job.job_instance_id))
            continue
        refs += [
            StepRef(job.bk_biz_id, job.job_instance_id, step.step_instance_id)
            for step in job.steps
            if step.type != 3  # the v2 step API rejects manual-confirm steps (1241003)
        ]
    return refs


def run_demo(
    out: Path, *, seed: int = 7, jobs: int = 60, fmt: str = "parquet", job3: bool = False
) -> RunResult:
    data = SimData(seed=seed, jobs=jobs, job3=job3)
    app_secret = secrets.token_urlsafe(16)
    with Simulator(data, app_code=DEMO_APP_CODE, app_secret=app_secret) as sim:
        settings = Settings(
            api_url=sim.base_url,
            app_code=DEMO_APP_CODE,
            app_secret=Secret(app_secret),
            username="admin",
            out=out,
            format=cast(Literal["parquet", "csv"], fmt),
        )
        return run(settings, demo_refs(data), interactive=sys.stdout.isatty())
