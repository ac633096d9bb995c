"""The one place that defines every table: columns, Arrow types, descriptions, keys, partitions.

``docs/schema.md`` is generated from here (``python -m pipeline.schema``) and a test keeps
it in sync. Partition columns are part of the logical schema but are not stored inside the
data files; they live in the Hive folder names (``bk_biz_id=2/day=2026-11-29``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from pipeline.codes import OUTCOMES

UTC_TS = pa.timestamp("us", tz="UTC")


def _col(name: str, type_: pa.DataType, description: str, nullable: bool = True) -> pa.Field:
    return pa.field(name, type_, nullable=nullable, metadata={"description": description})


@dataclass(frozen=True)
class TableSpec:
    name: str
    schema: pa.Schema
    #: columns whose values identify a row's fact; a newer fetch replaces rows with equal keys
    key: tuple[str, ...]
    #: Hive partition columns, outermost first; not stored inside the files
    partition_by: tuple[str, ...]
    description: str

    @property
    def file_schema(self) -> pa.Schema:
        """The schema of the data files: the table without its partition columns."""
        keep = [f for f in self.schema if f.name not in self.partition_by]
        return pa.schema(keep)

    @property
    def column_names(self) -> list[str]:
        return [f.name for f in self.schema]


_ID_COLS = [
    _col("bk_biz_id", pa.int64(), "Business (CMDB biz) ID the step was requested under."),
    _col("job_instance_id", pa.int64(), "Job instance ID."),
    _col("step_instance_id", pa.int64(), "Step instance ID."),
]

_DAY = _col(
    "day",
    pa.string(),
    "Partition: the step's start date (YYYY-MM-DD) in --api-timezone; the fetch date "
    "for steps that have not started.",
)

STEPS = TableSpec(
    name="steps",
    description="One row per step instance: its detail and outcome, as of the newest fetch.",
    key=("step_instance_id",),
    partition_by=("bk_biz_id", "day"),
    schema=pa.schema(
        [
            *_ID_COLS,
            _col("step_id", pa.int64(), "Step (template) ID from the step detail."),
            _col("name", pa.string(), "Step name as the API sends it."),
            _col("operator", pa.string(), "User who ran the step."),
            _col("step_type", pa.int32(), "detail.type: 1 script, 2 file, 3 manual, 4 SQL."),
            _col("step_type_name", pa.string(), "script, file, manual_confirm, sql or unknown(N)."),
            _col("status", pa.int32(), "detail.status, the bk-job run status code."),
            _col("status_name", pa.string(), "English name of status (Success, Failed, ...)."),
            _col(
                "outcome",
                pa.string(),
                "success, failed, running, pending, skipped, stopped or unknown (from status).",
            ),
            _col("is_finished", pa.bool_(), "data.is_finished: the step will not change again."),
            _col("retry_count", pa.int32(), "detail.retry_count (2.x) or execute_count (3.x)."),
            _col("start_time", UTC_TS, "Step start, UTC; null when not started."),
            _col("end_time", UTC_TS, "Step end, UTC; null while running."),
            _col("total_time_s", pa.float64(), "detail.total_time in seconds."),
            _col("total_ip_num", pa.int64(), "Target hosts; counted from host results if null."),
            _col("success_ip_num", pa.int64(), "Hosts that succeeded."),
            _col("fail_ip_num", pa.int64(), "Hosts that failed."),
            _col("running_ip_num", pa.int64(), "Hosts still running."),
            _col("abnormal_agent_ip_num", pa.int64(), "Hosts whose agent was abnormal."),
            _col("hosts_complete", pa.bool_(), "False when the API left host lists incomplete."),
            _col("fetched_at", UTC_TS, "When this row was fetched, UTC."),
            _col("run_id", pa.string(), "The run that wrote this row."),
            _DAY,
        ]
    ),
)

STEP_HOSTS = TableSpec(
    name="step_hosts",
    description="One row per (step instance, host): the host's result in the step's latest run.",
    key=("step_instance_id",),
    partition_by=("bk_biz_id", "day"),
    schema=pa.schema(
        [
            *_ID_COLS,
            _col("bk_cloud_id", pa.int64(), "Cloud area (BK-Net) ID of the host."),
            _col("ip", pa.string(), "Host IPv4 address."),
            _col("result_type", pa.int32(), "Host task status code (API reference 6.5)."),
            _col("result_type_text", pa.string(), "Result text as sent, else its English name."),
            _col("outcome", pa.string(), "success, failed, running, pending, stopped, unknown."),
            _col("bk_host_id", pa.int64(), "CMDB host ID where the API sends it."),
            # v3 per-host facts (--api esb-v3 / apigw); null where the flavour has none
            _col("ipv6", pa.string(), "Host IPv6 address (apigw step answers only)."),
            _col("bk_agent_id", pa.string(), "GSE agent ID (apigw step answers only)."),
            _col("exit_code", pa.int32(), "Script exit code (v3 flavours)."),
            _col("error_code", pa.int32(), "Raw GSE error code of the host's task (v3)."),
            _col("tag", pa.string(), "Script result tag (job_success/job_fail text) (v3)."),
            _col("start_time", UTC_TS, "When the host started the step, UTC (v3)."),
            _col("end_time", UTC_TS, "When the host finished the step, UTC (v3)."),
            _col("total_time_s", pa.float64(), "The host's time in the step, seconds (v3)."),
            _col("run_id", pa.string(), "The run that wrote this row."),
            _DAY,
        ]
    ),
)

FETCH_ERRORS = TableSpec(
    name="fetch_errors",
    description="One row per requested ID that could not be exported (the newest failure).",
    key=("bk_biz_id", "job_instance_id", "step_instance_id"),
    partition_by=(),
    schema=pa.schema(
        [
            _col("bk_biz_id", pa.int64(), "Business ID as requested."),
            _col("job_instance_id", pa.int64(), "Job instance ID as requested."),
            _col("step_instance_id", pa.int64(), "Step instance ID; null when a whole job failed."),
            _col(
                "error_kind",
                pa.string(),
                "auth, not_found, api_error, http, timeout, connection, invalid_response.",
            ),
            _col("http_status", pa.int64(), "HTTP status of the last attempt, if any."),
            _col("api_code", pa.int64(), "bk-job / ESB / gateway code of the last attempt."),
            _col("message", pa.string(), "What went wrong; never holds a secret."),
            _col("attempts", pa.int32(), "How many times the ID was asked for."),
            _col("fetched_at", UTC_TS, "When the last attempt ended, UTC."),
            _col("run_id", pa.string(), "The run that wrote this row."),
        ]
    ),
)

#: the order that picks a job's ``worst_outcome``: the first outcome any of its steps has
WORST_FIRST: tuple[str, ...] = (
    "failed",
    "stopped",
    "unknown",
    "running",
    "pending",
    "skipped",
    "success",
)


def _count(outcome: str) -> pa.Field:
    return _col(f"steps_{outcome}", pa.int64(), f"Steps with outcome {outcome}.")


JOBS = TableSpec(
    name="jobs",
    description=(
        "One row per job instance with at least one row in `steps`, derived from those rows "
        "when a run commits (so it always agrees with `steps`), plus the job's name, operator "
        "and create time where a job-level answer (get_job_instance_status, `--job`) gave them."
    ),
    key=("job_instance_id",),
    partition_by=("bk_biz_id", "day"),
    schema=pa.schema(
        [
            _col("bk_biz_id", pa.int64(), "Business ID the job's steps were requested under."),
            _col("job_instance_id", pa.int64(), "Job instance ID."),
            _col(
                "name",
                pa.string(),
                "job_instance.name; null when only single steps of the job were ever fetched.",
            ),
            _col("operator", pa.string(), "job_instance.operator; null like name."),
            _col("create_time", UTC_TS, "job_instance.create_time, UTC; null like name."),
            _col("steps", pa.int64(), "Steps of the job in `steps`."),
            *(_count(o) for o in OUTCOMES),
            _col("is_finished", pa.bool_(), "True when every step of the job is finished."),
            _col("first_start", UTC_TS, "Earliest start_time of its steps; null if none started."),
            _col("last_end", UTC_TS, "Latest end_time of its steps; null if none ended."),
            _col(
                "total_time_s",
                pa.float64(),
                "Sum of its steps' total_time_s (the time its steps ran; manual confirmation "
                "waits included); null when no step has one.",
            ),
            _col(
                "span_s",
                pa.float64(),
                "last_end - first_start in seconds (wall time once is_finished); null when "
                "either is null.",
            ),
            _col(
                "worst_outcome",
                pa.string(),
                "The first of " + " > ".join(WORST_FIRST) + " that any of its steps has.",
            ),
            _col("fetched_at", UTC_TS, "Newest fetched_at of its steps, UTC."),
            _col("run_id", pa.string(), "The run that last recomputed this row."),
            _col(
                "day",
                pa.string(),
                "Partition: start date (YYYY-MM-DD, --api-timezone) of its earliest-starting "
                "step; when no step started, the earliest `day` of its steps (a fetch date).",
            ),
        ]
    ),
)

STEP_HOST_LOGS = TableSpec(
    name="step_host_logs",
    description=(
        "With --with-logs: the tail of the log of each failed host of a step "
        "(batch_get_job_instance_ip_log, latest execute_count), one row per step and host."
    ),
    key=("step_instance_id",),
    partition_by=("bk_biz_id", "day"),
    schema=pa.schema(
        [
            *_ID_COLS,
            _col("bk_cloud_id", pa.int64(), "Cloud area (BK-Net) ID of the host."),
            _col("ip", pa.string(), "Host IPv4 address."),
            _col("bk_host_id", pa.int64(), "CMDB host ID where the API sends it."),
            _col("log_type", pa.int32(), "1 script (script and SQL steps), 2 file."),
            _col(
                "log_tail",
                pa.string(),
                "The last --log-tail-kib KiB (default 8) of the log as sent (jobv3 logs are not "
                "HTML-escaped); a file step's entries joined by newlines.",
            ),
            _col("log_truncated", pa.bool_(), "True when the log was longer than its tail."),
            _col("fetched_at", UTC_TS, "When the log was fetched, UTC."),
            _col("run_id", pa.string(), "The run that wrote this row."),
            _DAY,
        ]
    ),
)

TABLES: dict[str, TableSpec] = {
    t.name: t for t in (STEPS, STEP_HOSTS, FETCH_ERRORS, JOBS, STEP_HOST_LOGS)
}

#: not a published table: the job-level facts of get_job_instance_status answers, staged by
#: a run (and checkpointed) until its commit folds them into ``jobs``
JOB_INFO = TableSpec(
    name="job_info",
    description="Job-level facts of job answers, staged until commit (internal).",
    key=("job_instance_id",),
    partition_by=(),
    schema=pa.schema(
        [
            _col("bk_biz_id", pa.int64(), "Business ID as requested."),
            _col("job_instance_id", pa.int64(), "Job instance ID as requested."),
            _col("name", pa.string(), "job_instance.name."),
            _col("operator", pa.string(), "job_instance.operator."),
            _col("create_time", UTC_TS, "job_instance.create_time, UTC."),
            _col("fetched_at", UTC_TS, "When the answer was fetched, UTC."),
        ]
    ),
)


#: portable SQL (ANSI) names of the Arrow types used above; see sql/schema.sql for other engines
SQL_TYPES: dict[pa.DataType, str] = {
    pa.int64(): "BIGINT",
    pa.int32(): "INTEGER",
    pa.string(): "VARCHAR",
    pa.bool_(): "BOOLEAN",
    pa.float64(): "DOUBLE",
    UTC_TS: "TIMESTAMP WITH TIME ZONE",
}


def describe(field: pa.Field) -> str:
    meta: dict[bytes, bytes] = field.metadata or {}
    return meta.get(b"description", b"").decode()


def _partitions(spec: TableSpec) -> str:
    return ", ".join(spec.partition_by) or "none"


def render_markdown() -> str:
    """docs/schema.md, generated from the specs above."""
    lines = [
        "# Table schemas",
        "",
        "Generated from `pipeline/schema.py` by `python -m pipeline.schema > docs/schema.md`;",
        "do not edit (a test fails when they differ). The same tables as SQL DDL are in",
        "`sql/schema.sql` (`python -m pipeline.schema --ddl`). Layout, partitions and re-run",
        "rules: [datasets.md](datasets.md). Partition columns live in the folder names, not",
        "inside the files.",
        "",
    ]
    for spec in TABLES.values():
        lines += [f"## `{spec.name}`", "", spec.description, ""]
        lines.append(f"Key (a newer fetch replaces rows with the same): `{', '.join(spec.key)}`.")
        lines += [f"Hive partitions: `{_partitions(spec)}`.", ""]
        lines += ["| column | Arrow type | SQL type | description |", "|---|---|---|---|"]
        for f in spec.schema:
            desc = describe(f).replace("|", "\\|")
            lines.append(f"| {f.name} | {f.type} | {SQL_TYPES[f.type]} | {desc} |")
        lines.append("")
    return "\n".join(lines)


def render_ddl() -> str:
    """sql/schema.sql: one portable CREATE TABLE per table, generated from the specs above."""
    lines = [
        "-- schema.sql - the bkjob-export tables as portable SQL DDL (ANSI types).",
        "-- Generated from pipeline/schema.py by `python -m pipeline.schema --ddl`; do not edit.",
        "-- Runs as is on DuckDB and Trino. Spark SQL / Hive: VARCHAR -> STRING,",
        "-- TIMESTAMP WITH TIME ZONE -> TIMESTAMP, and add USING parquet / PARTITIONED BY /",
        "-- LOCATION (see docs/datasets.md). Descriptions: docs/schema.md.",
    ]
    for spec in TABLES.values():
        lines += ["", f"-- {spec.name}: key {', '.join(spec.key)}; partitions {_partitions(spec)}"]
        lines.append(f"CREATE TABLE {spec.name} (")
        width = max(len(f.name) for f in spec.schema)
        cols = [f"    {f.name.ljust(width)} {SQL_TYPES[f.type]}" for f in spec.schema]
        lines += [",\n".join(cols), ");"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    import sys

    print(render_ddl() if sys.argv[1:] == ["--ddl"] else render_markdown(), end="")
