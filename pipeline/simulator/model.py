"""The simulator's ground truth: jobs, steps and per-host results.

Hosts are stored column-wise (parallel tuples) so a 5,000-host step stays cheap.
Times are timezone-aware datetimes (UTC) on jobs and steps, epoch milliseconds on hosts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import NamedTuple

from pipeline.codes import FINISHED_STATUSES, host_outcome

from .catalog import ABNORMAL_AGENT_CODES


class SimHost(NamedTuple):
    bk_host_id: int
    bk_cloud_id: int
    ip: str
    result_type: int
    exit_code: int | None
    tag: str
    error_code: int
    start_ms: int | None
    end_ms: int | None


@dataclass(frozen=True, slots=True)
class HostTable:
    """Column-wise host results of one step, in target order."""

    bk_host_id: tuple[int, ...]
    bk_cloud_id: tuple[int, ...]
    ip: tuple[str, ...]
    result_type: tuple[int, ...]
    exit_code: tuple[int | None, ...]
    tag: tuple[str, ...]
    error_code: tuple[int, ...]
    start_ms: tuple[int | None, ...]
    end_ms: tuple[int | None, ...]

    def __len__(self) -> int:
        return len(self.ip)

    def __iter__(self) -> Iterator[SimHost]:
        cols = (self.bk_host_id, self.bk_cloud_id, self.ip, self.result_type, self.exit_code)
        rest = (self.tag, self.error_code, self.start_ms, self.end_ms)
        for row in zip(*cols, *rest, strict=True):
            yield SimHost(*row)

    def row(self, i: int) -> SimHost:
        return SimHost(
            self.bk_host_id[i],
            self.bk_cloud_id[i],
            self.ip[i],
            self.result_type[i],
            self.exit_code[i],
            self.tag[i],
            self.error_code[i],
            self.start_ms[i],
            self.end_ms[i],
        )


EMPTY_HOSTS = HostTable((), (), (), (), (), (), (), (), ())


class ResultGroup(NamedTuple):
    """Hosts sharing a result: ``tag`` is "" in 2.x grouping (by result_type only)."""

    result_type: int
    tag: str
    indexes: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class SimStep:
    bk_biz_id: int
    job_instance_id: int
    step_instance_id: int
    step_id: int
    #: position in the job, 0-based (bk-job's step_order - 1)
    order: int
    name: str
    type: int
    operator: str
    status: int
    execute_count: int
    create_time: datetime
    start_time: datetime | None
    end_time: datetime | None
    total_time_ms: int | None
    hosts: HostTable

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def host_count(self) -> int:
        return len(self.hosts)

    def result_groups(self, by_tag: bool = False) -> list[ResultGroup]:
        """Hosts grouped by result_type (and tag when ``by_tag``, as Job 3.x does), ascending."""
        codes = self.hosts.result_type
        if not by_tag and codes and codes.count(codes[0]) == len(codes):
            return [ResultGroup(codes[0], "", tuple(range(len(codes))))]  # the common case
        groups: dict[tuple[int, str], list[int]] = {}
        tags = self.hosts.tag if by_tag else ("",) * len(codes)
        for i, key in enumerate(zip(codes, tags, strict=True)):
            groups.setdefault(key, []).append(i)
        return [ResultGroup(k[0], k[1], tuple(v)) for k, v in sorted(groups.items())]

    def counters(self) -> dict[str, int]:
        """The Job 2.x counters: what ``*_ip_num`` say in 2.x mode.

        fail counts every failure kind (abnormal agents too); running counts result 7 only;
        waiting (5) and force-terminated (403) hosts are in the total and in no other counter.
        """
        by_outcome: Counter[str] = Counter()
        by_code = Counter(self.hosts.result_type)
        for code, n in by_code.items():
            by_outcome[host_outcome(code)] += n
        return {
            "total_ip_num": len(self.hosts),
            "success_ip_num": by_outcome["success"],
            "fail_ip_num": by_outcome["failed"],
            "running_ip_num": by_outcome["running"],
            "abnormal_agent_ip_num": sum(by_code[c] for c in ABNORMAL_AGENT_CODES),
        }

    def abnormal_agent_ips(self) -> list[str]:
        codes = self.hosts.result_type
        return [ip for i, ip in enumerate(self.hosts.ip) if codes[i] in ABNORMAL_AGENT_CODES]


def finished_copy(step: SimStep, at: datetime) -> SimStep:
    """``step`` as it reads once it has finished at ``at`` (``finish_after_polls``): the
    step succeeded, and its hosts that were still running or waiting succeeded too."""
    at_ms = int(at.timestamp() * 1000)
    start = step.start_time or at
    h = step.hosts
    open_ = [host_outcome(c) in ("running", "pending") for c in h.result_type]
    hosts = replace(
        h,
        result_type=tuple(9 if o else c for o, c in zip(open_, h.result_type, strict=True)),
        start_ms=tuple(
            at_ms if o and s is None else s for o, s in zip(open_, h.start_ms, strict=True)
        ),
        end_ms=tuple(at_ms if o else e for o, e in zip(open_, h.end_ms, strict=True)),
    )
    total_ms = max(0, at_ms - int(start.timestamp() * 1000))
    return replace(
        step, status=3, start_time=start, end_time=at, total_time_ms=total_ms, hosts=hosts
    )


@dataclass(frozen=True, slots=True)
class SimJob:
    bk_biz_id: int
    job_instance_id: int
    #: execution plan id; -1 for quick executions (script / file)
    bk_job_id: int
    name: str
    operator: str
    status: int
    #: task type (API reference 6.3): 0 plan, 1 quick script, 2 quick file
    type: int
    #: launch mode (6.4): 1 web UI, 2 API, 3 cron
    start_way: int
    create_time: datetime
    start_time: datetime | None
    end_time: datetime | None
    total_time_ms: int | None
    steps: tuple[SimStep, ...]

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def current_step_instance_id(self) -> int:
        """The last step that started (the first step when none did)."""
        started = [s for s in self.steps if s.start_time is not None]
        return (started[-1] if started else self.steps[0]).step_instance_id

    def step(self, step_instance_id: int) -> SimStep | None:
        for s in self.steps:
            if s.step_instance_id == step_instance_id:
                return s
        return None
