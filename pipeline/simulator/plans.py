"""A job's skeleton: which plan, which steps, what happened to each and when.

Cheap (no hosts), so totals over 100,000 jobs are affordable. Statuses are not drawn
independently: a job runs its steps in order and a failure stops it, leaving later steps
pending; a step whose planned end lies after ``now`` is still running.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone

from .catalog import BOTS, HOSTILE_NAMES, HUMANS
from .layout import Layout, mix64
from .templates import MEDIAN_S, PlanTemplate, draw_host_count, plan_weights

_WEIGHTS = {n: plan_weights(n) for n in range(1, 20)}

SHANGHAI = timezone(timedelta(hours=8), "Asia/Shanghai")

#: what happened to a non-manual step, and how often
KINDS = ("success", "retry_ok", "fail", "ignore", "skip", "terminate", "stop", "abnormal")
KIND_WEIGHTS = (855, 30, 60, 25, 8, 7, 8, 7)
#: kind -> (step status, job status when it ends the job, else None)
KIND_STATUS: dict[str, tuple[int, int | None]] = {
    "success": (3, None),
    "retry_ok": (3, None),
    "fail": (4, 4),
    "ignore": (6, None),
    "skip": (5, None),
    "terminate": (8, 8),
    "stop": (11, 11),
    "abnormal": (9, 9),
    "confirm": (3, None),
    "confirm_stop": (13, 13),
}


@dataclass(frozen=True, slots=True)
class StepSpec:
    step_id: int
    name: str
    type: int
    host_offset: int
    host_count: int
    median_s: float


@dataclass(frozen=True, slots=True)
class StepPlan:
    step_instance_id: int
    step_id: int
    order: int
    name: str
    type: int
    operator: str
    #: a KINDS value (or confirm / confirm_stop); the outcome planned even if still running
    kind: str
    status: int
    execute_count: int
    start_ms: int | None
    #: planned end; the step's end_time only once the step has finished
    end_ms: int | None
    host_offset: int
    host_count: int


@dataclass(frozen=True, slots=True)
class JobPlan:
    index: int
    biz_index: int
    bk_biz_id: int
    job_instance_id: int
    bk_job_id: int
    name: str
    operator: str
    status: int
    type: int
    start_way: int
    create_ms: int
    start_ms: int
    end_ms: int | None
    steps: tuple[StepPlan, ...]


@dataclass(frozen=True, slots=True)
class Overrides:
    """Benchmark knobs: exact steps per job / hosts per step (no manual steps then)."""

    steps_per_job: int | None = None
    hosts_per_step: int | None = None


def _quick_spec(rng: random.Random, layout: Layout, i: int, pool: int) -> StepSpec:
    """A quick execution: one step named like the task (task type == step type, 1 or 2)."""
    step_type = rng.choices((1, 2), weights=(75, 25))[0]
    stamp = datetime.fromtimestamp(layout.create_ms(i) / 1000, SHANGHAI)
    prefix = "快速执行脚本_" if step_type == 1 else "快速分发文件_"
    name = prefix + stamp.strftime("%Y%m%d%H%M%S%f")[:17]
    if rng.random() < 0.15:
        name = rng.choice(HOSTILE_NAMES)
    return StepSpec(
        step_id=3_000_000 + mix64(layout.seed, i, 21) % 7_000_000,
        name=name,
        type=step_type,
        host_offset=rng.randrange(pool),
        host_count=min(draw_host_count(rng), pool),
        median_s=MEDIAN_S[step_type],
    )


def _plan_specs(plan: PlanTemplate) -> list[StepSpec]:
    def count(subset: int | None, step_type: int) -> int:
        if step_type == 3:
            return 0  # a manual confirmation has no target hosts
        return plan.host_count if subset is None else min(subset, plan.host_count)

    return [
        StepSpec(
            st.step_id, st.name, st.type, plan.host_offset, count(st.subset, st.type), st.median_s
        )
        for st in plan.steps
    ]


def _apply_overrides(specs: list[StepSpec], ov: Overrides, pool: int) -> list[StepSpec]:
    if ov.steps_per_job is not None:
        m = len(specs)
        # repeated template steps get their own step_id, as a plan would
        specs = [
            replace(specs[k % m], step_id=specs[k % m].step_id + 100_000 * (k // m))
            for k in range(ov.steps_per_job)
        ]
    if ov.hosts_per_step is not None:
        count = min(ov.hosts_per_step, pool)
        specs = [
            replace(s, type=1 if s.type == 3 else s.type, host_count=count, median_s=6.0)
            for s in specs
        ]
    return specs


def _duration_ms(rng: random.Random, spec: StepSpec, recent: bool) -> int:
    median = spec.median_s + (0.01 * spec.host_count if spec.type == 2 else 0.0)
    sigma = 1.2 if spec.type == 3 else 0.9
    seconds = rng.lognormvariate(math.log(median), sigma)
    if recent and spec.type != 3:
        seconds *= rng.uniform(10.0, 60.0)  # long deploys: some of the newest jobs still run
    return int(min(max(seconds, 0.3), 3 * 3600.0) * 1000)


def _draw_kind(rng: random.Random, step_type: int) -> str:
    if step_type == 3:
        return "confirm_stop" if rng.random() < 0.07 else "confirm"
    return rng.choices(KINDS, weights=KIND_WEIGHTS)[0]


def _execute_count(rng: random.Random, kind: str) -> int:
    if kind == "retry_ok":
        return rng.choice((1, 1, 1, 2))
    if kind == "fail" and rng.random() < 0.2:
        return 1
    return 0


def _step_plan(
    sid: int,
    k: int,
    spec: StepSpec,
    operator: str,
    kind: str,
    status: int,
    execute_count: int,
    start_ms: int | None,
    end_ms: int | None,
) -> StepPlan:
    return StepPlan(
        step_instance_id=sid,
        step_id=spec.step_id,
        order=k,
        name=spec.name,
        type=spec.type,
        operator=operator,
        kind=kind,
        status=status,
        execute_count=execute_count,
        start_ms=start_ms,
        end_ms=end_ms,
        host_offset=spec.host_offset,
        host_count=spec.host_count,
    )


def _walk(
    rng: random.Random, layout: Layout, i: int, specs: list[StepSpec], operators: list[str]
) -> tuple[int, int, int | None, list[StepPlan]]:
    """Run the steps in order from the job's start; returns (status, start, end, steps)."""
    job_start = layout.create_ms(i) + rng.randint(50, 2000)
    t, job_status, ended = job_start, 3, False
    out: list[StepPlan] = []
    for k, spec in enumerate(specs):
        sid = layout.step_instance_id(i, k)
        op = operators[k]
        if ended:
            out.append(_step_plan(sid, k, spec, op, "pending", 1, 0, None, None))
            continue
        kind = _draw_kind(rng, spec.type)
        end = t + _duration_ms(rng, spec, layout.is_recent(i))
        status, halts = KIND_STATUS[kind]
        if end > layout.now_ms:  # still going at "now"
            status, halts = (7 if spec.type == 3 else 2), (7 if spec.type == 3 else 2)
        count = _execute_count(rng, kind) if status != 2 else 0
        out.append(_step_plan(sid, k, spec, op, kind, status, count, t, end))
        if halts is not None:
            job_status, ended = halts, True
        t = end + rng.randint(100, 1500)
    finished = job_status not in (2, 7)
    job_end = max((s.end_ms or 0) for s in out if s.start_ms is not None) if finished else None
    return job_status, job_start, job_end, out


@dataclass(frozen=True, slots=True)
class _Choice:
    name: str
    task_type: int
    bk_job_id: int
    owner: str
    cron: bool
    specs: list[StepSpec]


Plans = tuple[tuple[PlanTemplate, ...], ...]


def _choose(rng: random.Random, layout: Layout, plans: Plans, i: int, ov: Overrides) -> _Choice:
    """Which plan (or quick execution) job ``i`` runs: the first draws of its RNG."""
    b_idx = layout.business_index(i)
    pool = layout.business(i).pool_size
    if rng.random() < 0.22:
        spec = _quick_spec(rng, layout, i, pool)
        choice = _Choice(spec.name, spec.type, -1, rng.choice(HUMANS), False, [spec])
    else:
        biz_plans = plans[b_idx]
        plan = rng.choices(biz_plans, weights=_WEIGHTS[len(biz_plans)])[0]
        choice = _Choice(plan.name, 0, plan.bk_job_id, plan.owner, plan.cron, _plan_specs(plan))
    return replace(choice, specs=_apply_overrides(choice.specs, ov, pool))


def job_sizes(
    layout: Layout, plans: tuple[tuple[PlanTemplate, ...], ...], i: int, ov: Overrides
) -> list[int]:
    """Host counts of job ``i``'s steps without running its timeline (for totals)."""
    rng = random.Random(mix64(layout.seed, i, 1))
    return [s.host_count for s in _choose(rng, layout, plans, i, ov).specs]


def plan_job(
    layout: Layout, plans: tuple[tuple[PlanTemplate, ...], ...], i: int, ov: Overrides
) -> JobPlan:
    rng = random.Random(mix64(layout.seed, i, 1))
    choice = _choose(rng, layout, plans, i, ov)
    name, task_type, specs = choice.name, choice.task_type, choice.specs
    bk_job_id, owner, cron = choice.bk_job_id, choice.owner, choice.cron
    b_idx = layout.business_index(i)
    biz = layout.business(i)
    start_way = 3 if cron else rng.choices((1, 2), weights=(70, 30))[0]
    operator = owner if cron else rng.choice(BOTS if start_way == 2 else HUMANS)
    # a manual confirmation is confirmed by someone else
    operators = [rng.choice(HUMANS) if s.type == 3 else operator for s in specs]
    status, start, end, steps = _walk(rng, layout, i, specs, operators)
    return JobPlan(
        index=i,
        biz_index=b_idx,
        bk_biz_id=biz.bk_biz_id,
        job_instance_id=layout.job_instance_id(i),
        bk_job_id=bk_job_id,
        name=name,
        operator=operator,
        status=status,
        type=task_type,
        start_way=start_way,
        create_ms=layout.create_ms(i),
        start_ms=start,
        end_ms=end,
        steps=tuple(steps),
    )


def ms_to_dt(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, UTC)
