"""Synthetic bkjob-export datasets for the report and SQL tests, and a pandas oracle.

``make_dataset`` writes the layout of CONTRACT section 4 with pyarrow (Parquet) or by hand
(CSV: header, ISO-8601 timestamps with offset, formula-guarded text), without the writer or
the simulator. ``load_tables`` reads a Parquet dataset back with ``pyarrow.dataset``;
``expected_*`` compute the figures in pandas, independently of ``sql/``.

The tests at the bottom check the helper itself.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from pipeline import codes
from pipeline.jobs import STEP_COLUMNS, derive_jobs, empty_info
from pipeline.schema import FETCH_ERRORS, JOBS, STEP_HOST_LOGS, STEP_HOSTS, STEPS, TableSpec

SCRIPT_NAME = "<script>alert('x')</script>"
HOSTILE_NAMES = [
    SCRIPT_NAME,
    "say \"hi\" & <b>bold</b> 'single'",
    "{{ 7 * 7 }} {% if true %}jinja{% endif %}",
    # right-to-left Arabic with a right-to-left override inside
    "\u0646\u0634\u0631 \u0627\u0644\u062a\u0637\u0628\u064a\u0642 \u202eevil\u202c",
    '=HYPERLINK("http://evil.example")',
    "-rf /",
    "@SUM(A1)",
    "+1 deploy",
    "\tindented",
    "$x$ price $",
    "line one\nline two",
    "\u90e8\u7f72\u811a\u672c",  # Chinese
    "very long " + "x" * 600,
    "",
]
PLAIN_NAMES = ["deploy app", "restart nginx", "copy config", "db migrate", "health check"]
OPERATORS = ["alice", "bob", "<img src=x onerror=alert(1)>", "=cmd|' /C calc'!A0", None]
STEP_STATUSES = [3] * 14 + [4] * 4 + [6, 9, 12, 5, 14, 8, 11, 13, 2, 10, 1, 7, 15, 99]
HOST_FAIL_CODES = [104, 101, 1, 13, 202, 311, 0, 18, 500, 102, 320, 15]
HOST_OTHER_CODES = [403, 7, 5, 999]
BIZ = [2, 3, 1000001]
T0 = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)


def _host_rows(rng: random.Random, step: dict[str, Any]) -> list[dict[str, Any]]:
    n = rng.choice([0, 1, 2, 3, 5, 8, 13, 30])
    pool = [
        (rng.choice([0, 0, 1]), f"10.0.{rng.randrange(3)}.{rng.randrange(25)}") for _ in range(n)
    ]
    rows = []
    for cloud, ip in dict.fromkeys(pool):
        if step["outcome"] == "failed" and rng.random() < 0.5:
            code = rng.choice(HOST_FAIL_CODES)
        elif rng.random() < 0.08:
            code = rng.choice(HOST_OTHER_CODES + HOST_FAIL_CODES)
        else:
            code = rng.choice([9, 9, 9, 3])
        text = codes.host_result_name(code)
        if code in (104, 0) and rng.random() < 0.5:
            text = rng.choice(HOSTILE_NAMES[:6])
        rows.append(
            {
                "bk_biz_id": step["bk_biz_id"],
                "job_instance_id": step["job_instance_id"],
                "step_instance_id": step["step_instance_id"],
                "bk_cloud_id": cloud,
                "ip": ip if rng.random() > 0.01 else "<i>10.9.9.9</i>",
                "result_type": code,
                "result_type_text": text,
                "outcome": codes.host_outcome(code),
                "bk_host_id": None if rng.random() < 0.3 else rng.randrange(1, 10_000),
                "run_id": "run-1",
                "day": step["day"],
            }
        )
    return rows


def step_row(rng: random.Random, biz: int, job: int, sid: int) -> dict[str, Any]:
    status = rng.choice(STEP_STATUSES)
    stype = rng.choice([1, 1, 1, 2, 2, 3, 4, 7])
    start = T0 + timedelta(hours=rng.randrange(0, 72), seconds=rng.randrange(3600))
    started = status not in (1, 7, 15)
    finished = status in codes.FINISHED_STATUSES
    total = round(rng.lognormvariate(3, 1.6), 3) if started else None
    if total is not None and rng.random() < 0.1:
        total = float(rng.choice([0, 1, 10, 60]))
    return {
        "bk_biz_id": biz,
        "job_instance_id": job,
        "step_instance_id": sid,
        "step_id": sid % 97,
        "name": rng.choice(HOSTILE_NAMES + PLAIN_NAMES * 4),
        "operator": rng.choice(OPERATORS),
        "step_type": stype,
        "step_type_name": codes.step_type_name(stype),
        "status": status,
        "status_name": codes.step_status_name(status),
        "outcome": codes.step_outcome(status),
        "is_finished": finished,
        "retry_count": rng.choice([0, 0, 1, 2]),
        "start_time": start if started else None,
        "end_time": start + timedelta(seconds=total or 0) if finished and started else None,
        "total_time_s": total,
        "total_ip_num": None,
        "success_ip_num": None,
        "fail_ip_num": None,
        "running_ip_num": None,
        "abnormal_agent_ip_num": None,
        "hosts_complete": rng.random() > 0.05,
        "fetched_at": T0 + timedelta(days=3),
        "run_id": "run-1",
        "day": (start if started else T0 + timedelta(days=3)).strftime("%Y-%m-%d"),
    }


def synthetic_rows(seed: int = 7, jobs: int = 60) -> dict[str, list[dict[str, Any]]]:
    """Rows of the three tables: varied outcomes, hostile texts, three businesses."""
    rng = random.Random(seed)
    steps: list[dict[str, Any]] = []
    hosts: list[dict[str, Any]] = []
    for j in range(jobs):
        biz, job = rng.choice(BIZ), 9_000_000 + j
        for k in range(rng.randint(1, 5)):
            step = step_row(rng, biz, job, 50_000_000 + j * 10 + k)
            steps.append(step)
            hosts += _host_rows(rng, step)
    errors = [
        {
            "bk_biz_id": 2,
            "job_instance_id": 8_000_000 + i,
            "step_instance_id": None if i % 2 else 40_000_000 + i,
            "error_kind": ["not_found", "timeout", "api_error"][i % 3],
            "http_status": None if i % 3 else 404,
            "api_code": 1240002 if i % 3 == 2 else None,
            "message": ["<script>bad()</script> not found", "=1+1 timed out", "plain"][i % 3],
            "attempts": 1 + i % 4,
            "fetched_at": T0,
            "run_id": "run-1",
        }
        for i in range(5)
    ]
    return {"steps": steps, "step_hosts": hosts, "fetch_errors": errors, "jobs": job_rows(steps),
            "step_host_logs": []}  # fmt: skip


def job_rows(steps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The jobs table the writer derives from these steps (pipeline.jobs)."""
    table = pa.Table.from_pylist(steps, schema=STEPS.schema).select(list(STEP_COLUMNS))
    return derive_jobs(table, empty_info(), "run-1").to_pylist()


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        return value.isoformat()
    text = str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r"):
        text = "'" + text
    return '"' + text.replace('"', '""') + '"'


def _write_part(folder: Path, fmt: str, spec: TableSpec, rows: list[dict[str, Any]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    names = [f.name for f in spec.schema if f.name not in spec.partition_by or not rows]
    schema = pa.schema([spec.schema.field(n) for n in names])
    if fmt == "parquet":
        table = pa.Table.from_pylist([{n: r.get(n) for n in names} for r in rows], schema=schema)
        pq.write_table(table, folder / "part-0.parquet")
        return
    lines = [",".join(names)] + [",".join(_csv_cell(r.get(n)) for n in names) for r in rows]
    (folder / "part-0.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")


def write_table(root: Path, fmt: str, spec: TableSpec, rows: list[dict[str, Any]]) -> None:
    """One table in the contract layout; an empty table is one zero-row file at its root."""
    base = root / spec.name
    if not rows or not spec.partition_by:
        _write_part(base, fmt, spec, rows)
        return
    parts: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for row in rows:
        parts.setdefault(tuple(row[p] for p in spec.partition_by), []).append(row)
    for key, part in parts.items():
        sub = "/".join(f"{p}={v}" for p, v in zip(spec.partition_by, key, strict=True))
        _write_part(base / sub, fmt, spec, part)


def make_dataset(
    root: Path, fmt: str = "parquet", *, seed: int = 7, jobs: int = 60, empty: bool = False
) -> Path:
    """Write a synthetic dataset (or an empty one) and a manifest under ``root``."""
    root.mkdir(parents=True, exist_ok=True)
    rows = (
        synthetic_rows(seed, jobs)
        if not empty
        else {t: [] for t in ("steps", "step_hosts", "fetch_errors", "jobs")}
    )
    for spec in (STEPS, STEP_HOSTS, FETCH_ERRORS, JOBS, STEP_HOST_LOGS):
        write_table(root, fmt, spec, rows.get(spec.name, []))
    manifest = {
        "run_id": "run-1",
        "started_at": "2026-11-30T01:00:00Z",
        "finished_at": "2026-11-30T01:05:00Z",
        "tool_version": "0.1.0",
        "api_url": "https://user:s3cret-pass@bk.example.com/api/c/compapi?bk_app_secret=topsecret",
        "exit_code": 3,
        "requested": 60,
        "exported": len(rows["steps"]),
        "failed": len(rows["fetch_errors"]),
        "counts": {k: len(v) for k, v in rows.items()},
        "warnings": ["step 1 <b>host list incomplete</b>"],
        "app_secret": "never-shown-secret",
    }
    (root / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return root


# --- the pandas oracle: reads Parquet with pyarrow.dataset, never through sql/ ----------


def load_tables(root: Path) -> dict[str, pd.DataFrame]:
    out = {}
    for name in ("steps", "step_hosts", "fetch_errors"):
        ds = pads.dataset(root / name, format="parquet", partitioning="hive")
        out[name] = ds.to_table().to_pandas()
    return out


def rate(failed: int, success: int) -> float | None:
    return None if failed + success == 0 else failed / (failed + success)


def expected_headline(t: dict[str, pd.DataFrame]) -> dict[str, Any]:
    steps, hosts = t["steps"], t["step_hosts"]
    so, ho = steps["outcome"].value_counts(), hosts["outcome"].value_counts()
    return {
        "jobs": int(steps["job_instance_id"].nunique()),
        "steps": int(steps["step_instance_id"].nunique()),
        "hosts": len(hosts[["bk_cloud_id", "ip"]].drop_duplicates()),
        "step_failure_rate": rate(int(so.get("failed", 0)), int(so.get("success", 0))),
        "host_failure_rate": rate(int(ho.get("failed", 0)), int(ho.get("success", 0))),
        "steps_stopped": int(so.get("stopped", 0)),
        "steps_skipped": int(so.get("skipped", 0)),
    }


def step_results(t: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """steps with per-step host counts, computed in pandas."""
    h = t["step_hosts"]
    per = pd.DataFrame(
        {
            "host_rows": h.groupby("step_instance_id").size(),
            "hosts_success": h[h.outcome == "success"].groupby("step_instance_id").size(),
            "hosts_failed": h[h.outcome == "failed"].groupby("step_instance_id").size(),
        }
    ).fillna(0)
    merged = t["steps"].merge(per, left_on="step_instance_id", right_index=True, how="left")
    return merged.fillna({"host_rows": 0, "hosts_success": 0, "hosts_failed": 0})


def expected_rates_by(t: dict[str, pd.DataFrame], key: str) -> dict[Any, dict[str, Any]]:
    """Per value of ``key``: steps, steps_failed, step/host failure rates."""
    out: dict[Any, dict[str, Any]] = {}
    for value, g in step_results(t).groupby(key, dropna=False):
        ok, bad = int((g.outcome == "success").sum()), int((g.outcome == "failed").sum())
        hs, hf = int(g.hosts_success.sum()), int(g.hosts_failed.sum())
        norm = None if isinstance(value, float) and pd.isna(value) else value
        out[norm] = {
            "steps": len(g),
            "steps_failed": bad,
            "step_failure_rate": rate(bad, ok),
            "hosts_failed": hf,
            "host_failure_rate": rate(hf, hs),
        }
    return out


def durations(t: dict[str, pd.DataFrame]) -> pd.DataFrame:
    s = t["steps"]
    keep = s.is_finished.astype(bool) & (s.outcome != "skipped") & s.total_time_s.notna()
    return s[keep]


def expected_percentiles(t: dict[str, pd.DataFrame]) -> dict[Any, dict[str, float]]:
    out = {}
    for name, g in durations(t).groupby("name", dropna=False):
        x = g.total_time_s
        out[name] = {
            "p50_s": float(x.quantile(0.5)),
            "p90_s": float(x.quantile(0.9)),
            "p99_s": float(x.quantile(0.99)),
            "max_s": float(x.max()),
        }
    return out


# --- a small DOM from html.parser ----------------------------------------------------------

VOID = {"meta", "br", "hr", "img", "input", "link", "area", "base", "col", "source", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text for c in self.children)

    def iter(self) -> Iterator[Node]:
        yield self
        for c in self.children:
            if isinstance(c, Node):
                yield from c.iter()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        return [
            n
            for n in self.iter()
            if (tag is None or n.tag == tag)
            and all(n.attrs.get(k.replace("_", "-")) == v for k, v in attrs.items())
        ]

    def find(self, tag: str | None = None, **attrs: str) -> Node:
        found = self.find_all(tag, **attrs)
        assert found, f"no <{tag}> with {attrs}"
        return found[0]


class _DomParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse_html(text: str) -> Node:
    parser = _DomParser()
    parser.feed(text)
    parser.close()
    return parser.root


def table_rows(table: Node) -> list[dict[str, Node]]:
    """The body rows of a report table, as column name (data-column) -> cell."""
    body = table.find("tbody")
    return [
        {td.attrs["data-column"]: td for td in tr.find_all("td") if "data-column" in td.attrs}
        for tr in body.find_all("tr")
    ]


def key_text(cell: Node) -> str | None:
    """The API text a key cell shows: (none) -> None, (empty) -> "", full text if cut."""
    bdi = cell.find_all("bdi")
    if bdi:
        return bdi[0].attrs.get("title") or bdi[0].text
    return {"(none)": None, "(empty)": ""}[cell.text.strip()]


# --- tests of the helper ------------------------------------------------------------------


def test_dataset_reads_as_one_hive_dataset(tmp_path: Path) -> None:
    t = load_tables(make_dataset(tmp_path))
    assert len(t["steps"]) > 100 and len(t["step_hosts"]) > 300
    assert set(t["steps"].outcome) >= {"success", "failed", "stopped", "skipped", "unknown"}
    assert SCRIPT_NAME in set(t["steps"].name)
    assert not list(tmp_path.glob("steps/*.parquet"))  # partitioned: no root file


def test_empty_dataset_is_one_zero_row_file_per_table(tmp_path: Path) -> None:
    make_dataset(tmp_path, empty=True)
    for name in ("steps", "step_hosts", "fetch_errors"):
        files = list((tmp_path / name).rglob("*.parquet"))
        assert [f.parent.name for f in files] == [name]
        assert pq.read_table(files[0]).num_rows == 0
