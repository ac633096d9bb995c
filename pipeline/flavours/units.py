"""Fetch units: what one API call fetches, and which requested IDs its answer serves.

Under ``esb-v3`` the steps asked for in one job are fetched with one job call (the job's
answer holds every step); the answer is then split into one answer per requested step:
only the requested steps are emitted, never the job's other steps. A step missing from
its job's answer becomes a "not found" failure for that step alone. Other flavours fetch
each ID with its own call. Job-level facts from discovery (the list row's ``operator``,
which Job 3.x status answers lack) are filled into answers here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from pipeline.errors import ApiError
from pipeline.fetcher import FetchResult
from pipeline.flatten import Answer
from pipeline.flavours.esb_v3 import step_of_job
from pipeline.flavours.v3shape import fill_job_facts
from pipeline.ids import JobRef, Ref, StepRef

JobKey = tuple[int, int]
#: per (bk_biz_id, job_instance_id): job fields to fill where an answer left them null
Facts = Mapping[JobKey, Mapping[str, Any]]


def plan_units(refs: Iterable[Ref], flavour: str) -> dict[Ref, list[Ref]]:
    """Fetch unit -> the requested refs it answers, in first-seen order."""
    units: dict[Ref, list[Ref]] = {}
    for ref in refs:
        unit: Ref = ref
        if flavour == "esb-v3" and isinstance(ref, StepRef):
            unit = JobRef(ref.bk_biz_id, ref.job_instance_id)
        units.setdefault(unit, []).append(ref)
    return units


def with_facts(answer: Answer, facts: Facts) -> Answer:
    known = facts.get((answer.ref.bk_biz_id, answer.ref.job_instance_id))
    return replace(answer, data=fill_job_facts(answer.data, known)) if known else answer


def split_result(result: FetchResult, wanted: list[Ref], facts: Facts) -> list[FetchResult]:
    """One result per requested ref of a unit's result."""
    answer = result.answer
    if answer is None:
        return [FetchResult(ref, error=result.error) for ref in wanted]
    answer = with_facts(answer, facts)
    if wanted == [result.ref]:
        return [replace(result, answer=answer)]
    out = []
    for ref in wanted:
        if not isinstance(ref, StepRef):
            out.append(FetchResult(ref, answer=replace(answer, ref=ref)))
            continue
        try:
            data = step_of_job(answer.data, ref.step_instance_id, "get_job_instance_status")
        except ApiError as err:
            out.append(FetchResult(ref, error=err))
            continue
        out.append(FetchResult(ref, answer=Answer(ref, data, answer.fetched_at)))
    return out
