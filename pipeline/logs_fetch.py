"""``--with-logs``: the log tails of failed hosts, into the ``step_host_logs`` table.

As answers are flattened, the hosts with outcome ``failed`` are noted per step; after the
fetch, their logs are asked for with ``batch_get_job_instance_ip_log`` (jobv3 ESB, or the
gateway under ``--api apigw``): at most 500 hosts a call, by ``bk_host_id`` where every
host has one, else by cloud area + IP. Each log keeps its last ``--log-tail-kib`` KiB
(default 8), cut on a character boundary; ``log_truncated`` says whether anything was cut.
jobv3 logs are plain text (v2's get_job_instance_log HTML-escapes, and is not used).
A failed log call is a warning of the run, never a ``fetch_errors`` row: logs are extra.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.errors import ApiError
from pipeline.flatten import to_int
from pipeline.flavours.base import MAX_LOG_HOSTS, ApiRequest, Flavour, LogHost
from pipeline.schema import STEP_HOST_LOGS

DEFAULT_TAIL_KIB: Final = 8
_HOST_COLUMNS = ("bk_cloud_id", "ip", "bk_host_id")

StepIds = tuple[int, int, int]
Send = Callable[[ApiRequest], Any]


def tail(text: str, limit_bytes: int) -> tuple[str, bool]:
    """The last ``limit_bytes`` bytes of ``text`` (UTF-8), cut on a character boundary."""
    raw = text.encode("utf-8")
    if len(raw) <= limit_bytes:
        return text, False
    return raw[len(raw) - limit_bytes :].decode("utf-8", errors="ignore"), True


def log_text(item: Mapping[str, Any]) -> str | None:
    """A script log's content, or a file log's entries joined by newlines."""
    if "file_logs" in item:
        files = item.get("file_logs")
        parts = [f.get("log_content") for f in files if isinstance(f, Mapping)] if isinstance(
            files, list) else []  # fmt: skip
        return "\n".join(p for p in parts if isinstance(p, str)) or None
    content = item.get("log_content")
    return content if isinstance(content, str) else None


@dataclass
class _Step:
    day: str
    hosts: list[LogHost] = field(default_factory=list)


def log_rows(data: Any, ids: StepIds, step: _Step, limit: int) -> list[dict[str, Any]]:
    """``step_host_logs`` rows of one batch answer: the hosts asked for that it returns."""
    data = data if isinstance(data, Mapping) else {}
    items = data.get("script_task_logs") or data.get("file_task_logs") or []
    wanted = {h.bk_host_id: h for h in step.hosts if h.bk_host_id is not None}
    by_ip = {(h.bk_cloud_id, h.ip): h for h in step.hosts}
    rows = []
    for item in items if isinstance(items, list) else []:
        if not isinstance(item, Mapping):
            continue
        host_id = to_int(item.get("bk_host_id"))
        host = wanted.get(host_id) if host_id is not None else None
        host = host or by_ip.get((to_int(item.get("bk_cloud_id")), item.get("ip")))
        if host is None:
            continue
        text = log_text(item)
        kept, cut = tail(text, limit) if text is not None else (None, False)
        rows.append({"bk_biz_id": ids[0], "job_instance_id": ids[1], "step_instance_id": ids[2],
                     "bk_cloud_id": host.bk_cloud_id, "ip": host.ip, "bk_host_id": host.bk_host_id,
                     "log_type": to_int(data.get("log_type")), "log_tail": kept,
                     "log_truncated": cut, "day": step.day})  # fmt: skip
    return rows


class HostLogs:
    """Failed hosts noted while a run flattens, and their logs fetched after it."""

    def __init__(self, tail_kib: int = DEFAULT_TAIL_KIB) -> None:
        self.limit = tail_kib * 1024
        self.steps: dict[StepIds, _Step] = {}
        self.errors: list[ApiError] = []
        self.hosts_failed = 0

    def add(self, step_hosts: pa.RecordBatch) -> None:
        """Note the failed hosts of a flattened ``step_hosts`` batch."""
        failed = step_hosts.filter(pc.equal(step_hosts.column("outcome"), "failed"))
        names = ("bk_biz_id", "job_instance_id", "step_instance_id", "day", *_HOST_COLUMNS)
        cols = [failed.column(n).to_pylist() for n in names]
        for biz, job, sid, day, cloud, ip, host_id in zip(*cols, strict=True):
            self.steps.setdefault((biz, job, sid), _Step(day)).hosts.append(
                LogHost(cloud, ip, host_id)
            )

    def requests(self, flavour: Flavour) -> Iterator[tuple[StepIds, _Step, ApiRequest]]:
        for ids, step in self.steps.items():
            for i in range(0, len(step.hosts), MAX_LOG_HOSTS):
                part = _Step(step.day, step.hosts[i : i + MAX_LOG_HOSTS])
                yield ids, part, flavour.log_request(ids, part.hosts)

    def fetch(
        self, send: Send, flavour: Flavour, concurrency: int, run_id: str
    ) -> Iterator[pa.RecordBatch]:
        """Ask for every noted host's log; one record batch per answer."""

        def one(job: tuple[StepIds, _Step, ApiRequest]) -> list[dict[str, Any]]:
            ids, step, req = job
            try:
                return log_rows(send(req), ids, step, self.limit)
            except ApiError as err:
                self.errors.append(err)
                return []

        with ThreadPoolExecutor(max(concurrency, 1), thread_name_prefix="logs") as pool:
            for rows in pool.map(one, self.requests(flavour)):
                if rows:
                    now = datetime.now(UTC)
                    for row in rows:
                        row.update(fetched_at=now, run_id=run_id)
                    yield pa.RecordBatch.from_pylist(rows, schema=STEP_HOST_LOGS.schema)

    def warnings(self) -> list[str]:
        if not self.errors:
            return []
        return [
            f"log tails: {len(self.errors)} batch_get_job_instance_ip_log calls failed "
            f"(first: {self.errors[0].message}); those hosts have no step_host_logs row"
        ]


def replace_keys(exported: Iterable[StepIds]) -> set[tuple[object, ...]]:
    """With --with-logs, every exported step's old log rows are replaced (or dropped)."""
    return {(sid,) for _, _, sid in exported}
