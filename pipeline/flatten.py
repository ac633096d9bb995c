"""Pure functions from API answers to Arrow record batches (schemas in pipeline.schema).

Answers are parsed defensively: fields may be missing, null, strings instead of numbers,
or renamed between Job 2.x and 3.x (``retry_count``/``execute_count``). Host rows are built
column by column, a whole result group at a time, because large steps have thousands.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa

from pipeline.codes import (
    FINISHED_STATUSES,
    host_outcome,
    host_result_name,
    step_outcome,
    step_status_name,
    step_type_name,
)
from pipeline.errors import ApiError
from pipeline.flavours.hostcols import NotFast, v3_host_lists
from pipeline.ids import JobRef, Ref, StepRef
from pipeline.schema import FETCH_ERRORS, JOB_INFO, STEP_HOSTS, STEPS, TableSpec

_ABNORMAL_AGENT = frozenset({1, 310})


@dataclass(frozen=True)
class FlattenContext:
    tz: ZoneInfo
    run_id: str


@dataclass(frozen=True)
class Answer:
    """One successful API answer: ``data`` of get_step_instance_status for a StepRef,
    of get_job_instance_status for a JobRef."""

    ref: Ref
    data: Any
    fetched_at: datetime


@dataclass(frozen=True)
class Flat:
    steps: pa.RecordBatch
    step_hosts: pa.RecordBatch
    #: (bk_biz_id, job_instance_id, step_instance_id) of every step row
    step_keys: list[tuple[int, int, int]]


def to_int(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError):
            return None


def to_float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


_PLAIN_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")


def parse_time(value: Any, tz: ZoneInfo) -> datetime | None:
    """'YYYY-MM-DD HH:mm:ss' in the API's zone (2.x docs add ' +0800'), or epoch ms/s."""
    if value is None or value == "" or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 100_000_000_000 else value
        return datetime.fromtimestamp(seconds, UTC) if seconds > 0 else None
    text = str(value).strip()
    try:
        if _PLAIN_TIME.fullmatch(text):  # the common case, 30x faster than strptime
            return datetime.fromisoformat(text).replace(tzinfo=tz).astimezone(UTC)
        if len(text) > 19 and text[19:].strip()[:1] in "+-":
            return datetime.strptime(text, "%Y-%m-%d %H:%M:%S %z").astimezone(UTC)
        return datetime.strptime(text[:19], "%Y-%m-%d %H:%M:%S").replace(tzinfo=tz).astimezone(UTC)
    except ValueError:
        return None


def partition_day(start: datetime | None, fetched_at: datetime, tz: ZoneInfo) -> date:
    """The ``day`` partition: start date in the API's zone, else the fetch date."""
    return (start or fetched_at).astimezone(tz).date()


class _Columns:
    """The columns of one table, filled row-wise or group-wise, then made into a batch.

    A host group (hosts of one step with one result) is kept as its row count, its constant
    values and its varying columns; the constants become columns only in :meth:`batch`, by
    one ``take``, so a group of thousands of hosts costs no Python list per column."""

    def __init__(self, spec: TableSpec) -> None:
        self.spec = spec
        self.rows: dict[str, list[Any]] = {name: [] for name in spec.column_names}
        self.groups: list[tuple[int, Mapping[str, Any], Mapping[str, list[Any] | pa.Array]]] = []

    def add_row(self, row: Mapping[str, Any]) -> None:
        for name, values in self.rows.items():
            values.append(row.get(name))

    def extend_group(
        self, n: int, constant: Mapping[str, Any], varying: Mapping[str, list[Any] | pa.Array]
    ) -> None:
        self.groups.append((n, constant, varying))

    def batch(self) -> pa.RecordBatch:
        if self.groups and self.rows[self.spec.schema[0].name]:
            raise ValueError("a table is filled row-wise or group-wise, not both")
        if not self.groups:
            arrays = [pa.array(self.rows[f.name], f.type) for f in self.spec.schema]
        else:
            counts = [n for n, _, _ in self.groups]
            repeat = pa.array(np.repeat(np.arange(len(counts)), counts))  # row -> its group
            arrays = [self._group_column(f, repeat) for f in self.spec.schema]
        return pa.RecordBatch.from_arrays(arrays, schema=self.spec.schema)

    def _group_column(self, field: pa.Field, repeat: pa.Array) -> pa.Array:
        name, type_ = field.name, field.type
        if all(name not in varying for _, _, varying in self.groups):
            return pa.array([c.get(name) for _, c, _ in self.groups], type_).take(repeat)
        # one conversion per batch: pa.array has a fixed cost per call (~0.2 ms for strings)
        values: list[Any] = []
        for n, constant, varying in self.groups:
            values.extend(varying[name] if name in varying else [constant.get(name)] * n)
        return pa.array(values, type_)


def _target_count(target_ips: Any) -> int | None:
    if not isinstance(target_ips, str) or not target_ips.strip():
        return None
    return len([t for t in target_ips.split(",") if t.strip()])


@dataclass
class _StepHosts:
    listed: int = 0
    complete: bool = True
    outcomes: Counter[str] | None = None
    abnormal: int = 0


#: per-host fields only the v3 flavours send (see pipeline.flavours.base)
_V3_HOST_KEYS = frozenset(
    {"ipv6", "bk_agent_id", "exit_code", "error_code", "tag", "start_time", "end_time"}
)


def _text_or_none(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _v3_host_columns(ips: list[Mapping[str, Any]], tz: ZoneInfo) -> dict[str, list[Any]]:
    """The nullable v3 columns of ``step_hosts``; empty when no host carries them (v2)."""
    if not any(not _V3_HOST_KEYS.isdisjoint(h) for h in ips[:1]):
        return {}
    try:
        return v3_host_lists(ips)
    except NotFast:
        pass  # not all well-formed: convert host by host
    return {
        "ipv6": [_text_or_none(h.get("ipv6")) for h in ips],
        "bk_agent_id": [_text_or_none(h.get("bk_agent_id")) for h in ips],
        "exit_code": [to_int(h.get("exit_code")) for h in ips],
        "error_code": [to_int(h.get("error_code")) for h in ips],
        "tag": [_text_or_none(h.get("tag")) for h in ips],
        "start_time": [parse_time(h.get("start_time"), tz) for h in ips],
        "end_time": [parse_time(h.get("end_time"), tz) for h in ips],
        "total_time_s": [to_float(h.get("total_time")) for h in ips],
    }


_INT_OR_NONE = frozenset({int, type(None)})
_STR_OR_NONE = frozenset({str, type(None)})


def _host_columns(ips: list[Any]) -> dict[str, list[Any]] | None:
    """bk_cloud_id, ip and bk_host_id of a group whose entries are all well-formed (dicts with
    integer IDs and string IPs, checked by type, not one by one); None otherwise."""
    try:
        cloud = [h.get("bk_cloud_id") for h in ips]
        ip = [h.get("ip") for h in ips]
    except AttributeError:
        return None
    if not (_INT_OR_NONE.issuperset(map(type, cloud)) and _STR_OR_NONE.issuperset(map(type, ip))):
        return None
    columns = {"bk_cloud_id": cloud, "ip": ip}
    if sum(map(len, ips)) == 2 * len(ips) and None not in cloud and None not in ip:
        return columns  # every entry is exactly {bk_cloud_id, ip} (2.x): no bk_host_id
    host_ids = [h.get("bk_host_id") for h in ips]
    return (
        {**columns, "bk_host_id": host_ids}
        if _INT_OR_NONE.issuperset(map(type, host_ids))
        else None
    )


def _host_columns_slow(ips: list[Mapping[str, Any]]) -> dict[str, list[Any]]:
    return {
        "bk_cloud_id": [to_int(h.get("bk_cloud_id")) for h in ips],
        "ip": [_text(h.get("ip")) for h in ips],
        "bk_host_id": [to_int(h.get("bk_host_id")) for h in ips],
    }


def _add_group(
    hosts: _Columns,
    base: Mapping[str, Any],
    result_type: int | None,
    text: Any,
    ips: list[Any],
    tz: ZoneInfo,
) -> tuple[int, str]:
    fast = _host_columns(ips)
    if fast is None:  # not all well-formed: drop what is not a host, convert one by one
        ips = [h for h in ips if isinstance(h, Mapping)]
    outcome = host_outcome(result_type)
    constant = {
        **base,
        "result_type": result_type,
        "result_type_text": str(text) if text not in (None, "") else host_result_name(result_type),
        "outcome": outcome,
    }
    varying = {
        **(fast if fast is not None else _host_columns_slow(ips)),
        **_v3_host_columns(ips, tz),
    }
    hosts.extend_group(len(ips), constant, varying)
    return len(ips), outcome


def _v2_groups(hosts: _Columns, base: Mapping[str, Any], groups: Any, tz: ZoneInfo) -> _StepHosts:
    """Host rows of ``step_instance_analyse_result`` (a list; the docs say a dict)."""
    if isinstance(groups, Mapping):
        groups = [groups]
    tally = _StepHosts(outcomes=Counter())
    for group in groups if isinstance(groups, list) else []:
        if not isinstance(group, Mapping):
            continue
        result_type = to_int(group.get("result_type"))
        ips = group.get("ip_list")
        if not isinstance(ips, list):
            tally.complete = False
            ips = []
        count = to_int(group.get("count"))
        if count is not None and count > len(ips):
            tally.complete = False
        text = group.get("result_type_text")
        n, outcome = _add_group(hosts, base, result_type, text, ips, tz)
        _tally(tally, n, outcome, result_type)
    return tally


def _ip_status_hosts(
    hosts: _Columns, base: Mapping[str, Any], ip_status: Any, tz: ZoneInfo
) -> _StepHosts:
    """Host rows of a job-status step's ``step_ip_status`` (every host, one entry each)."""
    tally = _StepHosts(outcomes=Counter())
    by_status: dict[int | None, list[Any]] = {}
    for h in ip_status if isinstance(ip_status, list) else []:
        if isinstance(h, Mapping):
            by_status.setdefault(to_int(h.get("status")), []).append(h)
    for result_type, ips in sorted(by_status.items(), key=lambda kv: (kv[0] is None, kv[0] or 0)):
        n, outcome = _add_group(hosts, base, result_type, None, ips, tz)
        _tally(tally, n, outcome, result_type)
    return tally


def _tally(tally: _StepHosts, n: int, outcome: str, result_type: int | None) -> None:
    assert tally.outcomes is not None
    tally.listed += n
    tally.outcomes[outcome] += n
    if result_type in _ABNORMAL_AGENT:
        tally.abnormal += n


def _step_row(
    ref_ids: tuple[int, int, int],
    detail: Mapping[str, Any],
    is_finished: Any,
    fetched_at: datetime,
    ctx: FlattenContext,
) -> dict[str, Any]:
    status = to_int(detail.get("status"))
    step_type = to_int(detail.get("type"))
    start = parse_time(detail.get("start_time"), ctx.tz)
    retry = detail.get("retry_count")
    if retry is None:
        retry = detail.get("execute_count")
    return {
        "bk_biz_id": ref_ids[0],
        "job_instance_id": ref_ids[1],
        "step_instance_id": ref_ids[2],
        "step_id": to_int(detail.get("step_id")),
        "name": detail.get("name"),
        "operator": detail.get("operator"),
        "step_type": step_type,
        "step_type_name": step_type_name(step_type),
        "status": status,
        "status_name": step_status_name(status),
        "outcome": step_outcome(status),
        "is_finished": is_finished
        if isinstance(is_finished, bool)
        else status in FINISHED_STATUSES,
        "retry_count": to_int(retry),
        "start_time": start,
        "end_time": parse_time(detail.get("end_time"), ctx.tz),
        "total_time_s": to_float(detail.get("total_time")),
        "fetched_at": fetched_at,
        "run_id": ctx.run_id,
        "day": partition_day(start, fetched_at, ctx.tz).isoformat(),
    }


def _fill_counters(row: dict[str, Any], detail: Mapping[str, Any], tally: _StepHosts) -> None:
    """API counters where given; where null (Job 3.x), counted from the host rows."""
    assert tally.outcomes is not None
    total = to_int(detail.get("total_ip_num"))
    targets = _target_count(detail.get("target_ips")) if total is None else None
    derived = {
        "total_ip_num": targets if targets is not None else tally.listed,
        "success_ip_num": tally.outcomes["success"],
        "fail_ip_num": tally.outcomes["failed"],
        "running_ip_num": tally.outcomes["running"],
        "abnormal_agent_ip_num": tally.abnormal,
    }
    for name, value in derived.items():
        given = to_int(detail.get(name))
        row[name] = given if given is not None else value
    if row["total_ip_num"] is not None and tally.listed < row["total_ip_num"]:
        tally.complete = False
    row["hosts_complete"] = tally.complete


def _add_step(
    steps: _Columns,
    hosts: _Columns,
    ids: tuple[int, int, int],
    detail: Mapping[str, Any],
    is_finished: Any,
    fetched_at: datetime,
    ctx: FlattenContext,
    host_source: tuple[str, Any],
) -> None:
    row = _step_row(ids, detail, is_finished, fetched_at, ctx)
    names = ("bk_biz_id", "job_instance_id", "step_instance_id")
    base: dict[str, Any] = dict(zip(names, ids, strict=True))
    base.update(run_id=ctx.run_id, day=row["day"])
    kind, payload = host_source
    tally = (
        _v2_groups(hosts, base, payload, ctx.tz)
        if kind == "groups"
        else _ip_status_hosts(hosts, base, payload, ctx.tz)
    )
    _fill_counters(row, detail, tally)
    steps.add_row(row)


def flatten(answers: Iterable[Answer], ctx: FlattenContext) -> Flat:
    """API answers in, ``steps`` and ``step_hosts`` record batches out."""
    steps, hosts = _Columns(STEPS), _Columns(STEP_HOSTS)
    keys: list[tuple[int, int, int]] = []
    for answer in answers:
        data = answer.data if isinstance(answer.data, Mapping) else {}
        ref = answer.ref
        if isinstance(ref, StepRef):
            detail = data.get("step_instance_detail")
            detail = detail if isinstance(detail, Mapping) else {}
            ids = (ref.bk_biz_id, ref.job_instance_id, ref.step_instance_id)
            groups = ("groups", data.get("step_instance_analyse_result"))
            _add_step(
                steps, hosts, ids, detail, data.get("is_finished"), answer.fetched_at, ctx, groups
            )
            keys.append(ids)
        else:
            keys.extend(_add_job(steps, hosts, ref, data, answer.fetched_at, ctx))
    return Flat(steps.batch(), hosts.batch(), keys)


def job_steps(data: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The step instances of a v2 get_job_instance_status answer, in order."""
    found: list[Mapping[str, Any]] = []
    blocks = data.get("blocks")
    for block in blocks if isinstance(blocks, list) else []:
        items = block.get("step_instances") if isinstance(block, Mapping) else None
        if isinstance(items, list):
            found.extend(s for s in items if isinstance(s, Mapping))
    return found


def _add_job(
    steps: _Columns,
    hosts: _Columns,
    ref: JobRef,
    data: Mapping[str, Any],
    fetched_at: datetime,
    ctx: FlattenContext,
) -> list[tuple[int, int, int]]:
    job = data.get("job_instance")
    job_operator = job.get("operator") if isinstance(job, Mapping) else None
    keys = []
    for step in job_steps(data):
        step_id = to_int(step.get("step_instance_id"))
        if step_id is None:
            continue
        detail = {"operator": job_operator, **{k: v for k, v in step.items() if v is not None}}
        ids = (ref.bk_biz_id, ref.job_instance_id, step_id)
        source = ("ip_status", step.get("step_ip_status"))
        _add_step(steps, hosts, ids, detail, None, fetched_at, ctx, source)
        keys.append(ids)
    return keys


def job_info(answers: Iterable[Answer], ctx: FlattenContext) -> pa.RecordBatch:
    """Name, operator and create time of the job answers (JobRef) among ``answers``."""
    cols = _Columns(JOB_INFO)
    for answer in answers:
        data = answer.data if isinstance(answer.data, Mapping) else {}
        job = data.get("job_instance")
        if not isinstance(answer.ref, JobRef) or not isinstance(job, Mapping):
            continue
        cols.add_row(
            {
                "bk_biz_id": answer.ref.bk_biz_id,
                "job_instance_id": answer.ref.job_instance_id,
                "name": _text(job.get("name")),
                "operator": _text(job.get("operator")),
                "create_time": parse_time(job.get("create_time"), ctx.tz),
                "fetched_at": answer.fetched_at,
            }
        )
    return cols.batch()


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


#: a fetch_errors row's request: business, job (None: a whole business), step (None: a job)
ErrorKey = tuple[int, int | None, int | None]


def error_key(ref: Ref) -> ErrorKey:
    step = ref.step_instance_id if isinstance(ref, StepRef) else None
    return ref.bk_biz_id, ref.job_instance_id, step


def fetch_error_batch(
    failures: Sequence[tuple[ErrorKey, ApiError]], fetched_at: datetime, run_id: str
) -> pa.RecordBatch:
    """``fetch_errors`` rows: one per requested item that could not be exported."""
    cols = _Columns(FETCH_ERRORS)
    for (biz, job, step), err in failures:
        cols.add_row(
            {
                "bk_biz_id": biz,
                "job_instance_id": job,
                "step_instance_id": step,
                "error_kind": err.kind,
                "http_status": err.http_status,
                "api_code": err.api_code,
                "message": err.message,
                "attempts": err.attempts,
                "fetched_at": fetched_at,
                "run_id": run_id,
            }
        )
    return cols.batch()


def error_batch(
    failures: Sequence[tuple[Ref, ApiError]], fetched_at: datetime, run_id: str
) -> pa.RecordBatch:
    """``fetch_errors`` rows of requested IDs."""
    return fetch_error_batch([(error_key(r), e) for r, e in failures], fetched_at, run_id)
