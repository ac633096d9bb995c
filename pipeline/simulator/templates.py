"""Execution plans (job templates) per business: jobs of one plan share step names and hosts.

Sharing is what makes a report's "failure rate by step name" meaningful, so most jobs
come from a handful of plans; the rest are quick executions with free-form names.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, replace

from .catalog import BUSINESSES, CORE_HOSTILE, HUMANS, PLAN_NAMES, STEP_NAMES, Business
from .layout import mix64

CRON_PLANS = frozenset({"日常巡检", "数据库备份", "日志清理(每日)", "容量巡检"})


@dataclass(frozen=True, slots=True)
class StepTemplate:
    step_id: int
    name: str
    type: int
    #: None: every host of the plan; else only the first ``subset`` hosts
    subset: int | None
    median_s: float


@dataclass(frozen=True, slots=True)
class PlanTemplate:
    bk_job_id: int
    name: str
    owner: str
    cron: bool
    host_offset: int
    host_count: int
    steps: tuple[StepTemplate, ...]


def draw_host_count(rng: random.Random) -> int:
    """Heavy tail: most steps have a few hosts, a few have thousands."""
    r = rng.random()
    if r < 0.50:
        return rng.randint(1, 5)
    if r < 0.82:
        return rng.randint(6, 20)
    if r < 0.94:
        return rng.randint(21, 150)
    if r < 0.985:
        return rng.randint(151, 999)
    return rng.randint(1000, 5000)


def draw_step_count(rng: random.Random) -> int:
    return rng.choices((1, 2, 3, 4, 5), weights=(20, 25, 25, 18, 12))[0]


def draw_type(rng: random.Random) -> int:
    return rng.choices((1, 2, 4), weights=(60, 30, 10))[0]


MEDIAN_S = {1: 6.0, 2: 20.0, 4: 4.0, 3: 300.0}


def _steps(rng: random.Random, bk_job_id: int, n: int) -> tuple[StepTemplate, ...]:
    types = [draw_type(rng) for _ in range(n)]
    if n >= 2 and rng.random() < 0.15:
        types[rng.randint(1, n - 1)] = 3
    used: set[str] = set()
    out: list[StepTemplate] = []
    for k, t in enumerate(types):
        name = rng.choice([x for x in STEP_NAMES[t] if x not in used] or list(STEP_NAMES[t]))
        used.add(name)
        subset = rng.randint(1, 3) if t != 3 and rng.random() < 0.1 else None
        step_id = bk_job_id * 10 + k + 1
        out.append(StepTemplate(step_id, name, t, subset, MEDIAN_S[t]))
    return tuple(out)


def _plan(seed: int, b_idx: int, biz: Business, t: int) -> PlanTemplate:
    rng = random.Random(mix64(seed, b_idx, t, 101))
    bk_job_id = 1000 + b_idx * 100 + t
    name = PLAN_NAMES[(t + b_idx * 3) % len(PLAN_NAMES)]
    count = min(draw_host_count(rng), biz.pool_size)
    steps = _steps(rng, bk_job_id, draw_step_count(rng))
    return PlanTemplate(
        bk_job_id=bk_job_id,
        name=name,
        owner=rng.choice(HUMANS),
        cron=name in CRON_PLANS,
        host_offset=rng.randrange(biz.pool_size),
        host_count=count,
        steps=steps,
    )


def _with_hostile_step(plan: PlanTemplate, hostile: str) -> PlanTemplate:
    first, *rest = plan.steps
    return replace(plan, steps=(replace(first, name=hostile), *rest))


def _big_plan(seed: int, b_idx: int, biz: Business, t: int) -> PlanTemplate:
    """One rarely-run plan per big business targets thousands of hosts."""
    plan = _plan(seed, b_idx, biz, t)
    count = min(biz.pool_size, 1000 + mix64(seed, b_idx, 103) % 4001)
    return replace(plan, name="全服停服维护", cron=False, host_count=count)


def build_plans(seed: int) -> tuple[tuple[PlanTemplate, ...], ...]:
    """Plans per business (same order as ``BUSINESSES``); a pure function of the seed."""
    out: list[tuple[PlanTemplate, ...]] = []
    for b_idx, biz in enumerate(BUSINESSES):
        n = 6 + mix64(seed, b_idx, 102) % 7
        plans = [_plan(seed, b_idx, biz, t) for t in range(n)]
        if biz.pool_size >= 5000:
            plans[-1] = _big_plan(seed, b_idx, biz, n - 1)
        # a hostile step name in a frequently run plan of every business
        plans[1] = _with_hostile_step(plans[1], CORE_HOSTILE[b_idx % len(CORE_HOSTILE)])
        out.append(tuple(plans))
    return tuple(out)


def plan_weights(n: int) -> list[float]:
    """Zipf-like popularity: the first plans run most often, the last (big) one rarely."""
    return [1.0 / math.pow(t + 1, 1.1) for t in range(n)]
