-- schema.sql - the bkjob-export tables as portable SQL DDL (ANSI types).
-- Generated from pipeline/schema.py by `python -m pipeline.schema --ddl`; do not edit.
-- Runs as is on DuckDB and Trino. Spark SQL / Hive: VARCHAR -> STRING,
-- TIMESTAMP WITH TIME ZONE -> TIMESTAMP, and add USING parquet / PARTITIONED BY /
-- LOCATION (see docs/datasets.md). Descriptions: docs/schema.md.

-- steps: key step_instance_id; partitions bk_biz_id, day
CREATE TABLE steps (
    bk_biz_id             BIGINT,
    job_instance_id       BIGINT,
    step_instance_id      BIGINT,
    step_id               BIGINT,
    name                  VARCHAR,
    operator              VARCHAR,
    step_type             INTEGER,
    step_type_name        VARCHAR,
    status                INTEGER,
    status_name           VARCHAR,
    outcome               VARCHAR,
    is_finished           BOOLEAN,
    retry_count           INTEGER,
    start_time            TIMESTAMP WITH TIME ZONE,
    end_time              TIMESTAMP WITH TIME ZONE,
    total_time_s          DOUBLE,
    total_ip_num          BIGINT,
    success_ip_num        BIGINT,
    fail_ip_num           BIGINT,
    running_ip_num        BIGINT,
    abnormal_agent_ip_num BIGINT,
    hosts_complete        BOOLEAN,
    fetched_at            TIMESTAMP WITH TIME ZONE,
    run_id                VARCHAR,
    day                   VARCHAR
);

-- step_hosts: key step_instance_id; partitions bk_biz_id, day
CREATE TABLE step_hosts (
    bk_biz_id        BIGINT,
    job_instance_id  BIGINT,
    step_instance_id BIGINT,
    bk_cloud_id      BIGINT,
    ip               VARCHAR,
    result_type      INTEGER,
    result_type_text VARCHAR,
    outcome          VARCHAR,
    bk_host_id       BIGINT,
    ipv6             VARCHAR,
    bk_agent_id      VARCHAR,
    exit_code        INTEGER,
    error_code       INTEGER,
    tag              VARCHAR,
    start_time       TIMESTAMP WITH TIME ZONE,
    end_time         TIMESTAMP WITH TIME ZONE,
    total_time_s     DOUBLE,
    run_id           VARCHAR,
    day              VARCHAR
);

-- fetch_errors: key bk_biz_id, job_instance_id, step_instance_id; partitions none
CREATE TABLE fetch_errors (
    bk_biz_id        BIGINT,
    job_instance_id  BIGINT,
    step_instance_id BIGINT,
    error_kind       VARCHAR,
    http_status      BIGINT,
    api_code         BIGINT,
    message          VARCHAR,
    attempts         INTEGER,
    fetched_at       TIMESTAMP WITH TIME ZONE,
    run_id           VARCHAR
);

-- jobs: key job_instance_id; partitions bk_biz_id, day
CREATE TABLE jobs (
    bk_biz_id       BIGINT,
    job_instance_id BIGINT,
    name            VARCHAR,
    operator        VARCHAR,
    create_time     TIMESTAMP WITH TIME ZONE,
    steps           BIGINT,
    steps_success   BIGINT,
    steps_failed    BIGINT,
    steps_running   BIGINT,
    steps_pending   BIGINT,
    steps_skipped   BIGINT,
    steps_stopped   BIGINT,
    steps_unknown   BIGINT,
    is_finished     BOOLEAN,
    first_start     TIMESTAMP WITH TIME ZONE,
    last_end        TIMESTAMP WITH TIME ZONE,
    total_time_s    DOUBLE,
    span_s          DOUBLE,
    worst_outcome   VARCHAR,
    fetched_at      TIMESTAMP WITH TIME ZONE,
    run_id          VARCHAR,
    day             VARCHAR
);

-- step_host_logs: key step_instance_id; partitions bk_biz_id, day
CREATE TABLE step_host_logs (
    bk_biz_id        BIGINT,
    job_instance_id  BIGINT,
    step_instance_id BIGINT,
    bk_cloud_id      BIGINT,
    ip               VARCHAR,
    bk_host_id       BIGINT,
    log_type         INTEGER,
    log_tail         VARCHAR,
    log_truncated    BOOLEAN,
    fetched_at       TIMESTAMP WITH TIME ZONE,
    run_id           VARCHAR,
    day              VARCHAR
);
