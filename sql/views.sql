-- views.sql - the bkjob-export dataset as SQL views (DuckDB).
--
-- Placeholders. pipeline.report fills them in before it runs this file; to use it by hand,
-- replace them yourself (or print the filled-in text with
-- `python -c "import pipeline.report as r; print(r.views_sql('OUT'))"`):
--
--   ${DATA_DIR}      the dataset root: the folder holding steps/, step_hosts/, fetch_errors/, jobs/
--                    (an absolute path is safest; double any single quote in it)
--   ${FORMAT}        parquet  or  csv   (the files' extension; also picks the reader)
--   ${READ_OPTIONS}  extra reader options: empty for Parquet; for CSV exactly
--                    , header = true, delim = ',', quote = '"', escape = '"', all_varchar = true, allow_quoted_nulls = false
--                    (all_varchar: every cell is read as text and CAST below, so no column's
--                    type depends on DuckDB's guess; allow_quoted_nulls = false: "" is an
--                    empty string, an empty unquoted cell is NULL)
--
-- By hand, for a Parquet dataset in /data/bkjob:
--   sed -e 's#${DATA_DIR}#/data/bkjob#g' -e 's#${FORMAT}#parquet#g' -e 's#${READ_OPTIONS}##g' \
--       sql/views.sql > /tmp/views.sql
--   duckdb -init /tmp/views.sql        -- then: .read sql/metrics/headline.sql
--
-- Layers:
--   1. *_files      the files as read (DuckDB only: read_parquet / read_csv with Hive
--                   partitions; partition columns come from the folder names).
--   2. steps, step_hosts, fetch_errors, jobs, step_host_logs
--                   typed views with the columns of pipeline/schema.py. CAST makes CSV and
--                   Parquet read the same; for CSV, a text cell that the writer guarded against
--                   formula injection (a leading ' before = + - @, a tab or a carriage return)
--                   is read back without the '. (A dataset written with --csv-raw is not
--                   guarded: there, a text that itself starts with ' and one of those loses
--                   the '.)
--                   `day` (a partition key) is VARCHAR 'YYYY-MM-DD'.
--   3. step_results, host_results, step_durations
--                   convenience views in portable SQL (DuckDB, Spark SQL, Trino). On Spark or
--                   Trino, define steps / step_hosts / fetch_errors over the same folders
--                   (e.g. Spark: CREATE TABLE steps USING parquet LOCATION '.../steps') and
--                   run layer 3 and sql/metrics/*.sql unchanged.
--
-- Outcomes (CONTRACT section 5): success, failed, running, pending, skipped, stopped, unknown.
-- Step failure rate = failed / (success + failed) over steps; host failure rate the same over
-- step_hosts rows; NULL when the base is empty. Stopped and skipped are in neither rate.

-- 1. files -------------------------------------------------------------------------------

CREATE OR REPLACE VIEW steps_files AS
SELECT * FROM read_${FORMAT}('${DATA_DIR}/steps/**/*.${FORMAT}', hive_partitioning = true${READ_OPTIONS});

CREATE OR REPLACE VIEW step_hosts_files AS
SELECT * FROM read_${FORMAT}('${DATA_DIR}/step_hosts/**/*.${FORMAT}', hive_partitioning = true${READ_OPTIONS});

CREATE OR REPLACE VIEW fetch_errors_files AS
SELECT * FROM read_${FORMAT}('${DATA_DIR}/fetch_errors/**/*.${FORMAT}', hive_partitioning = true${READ_OPTIONS});

CREATE OR REPLACE VIEW jobs_files AS
SELECT * FROM read_${FORMAT}('${DATA_DIR}/jobs/**/*.${FORMAT}', hive_partitioning = true${READ_OPTIONS});

CREATE OR REPLACE VIEW step_host_logs_files AS
SELECT * FROM read_${FORMAT}('${DATA_DIR}/step_host_logs/**/*.${FORMAT}', hive_partitioning = true${READ_OPTIONS});

-- 2. typed tables ------------------------------------------------------------------------

CREATE OR REPLACE VIEW steps AS
SELECT
    CAST(bk_biz_id AS BIGINT) AS bk_biz_id,
    CAST(job_instance_id AS BIGINT) AS job_instance_id,
    CAST(step_instance_id AS BIGINT) AS step_instance_id,
    CAST(step_id AS BIGINT) AS step_id,
    CASE WHEN '${FORMAT}' = 'csv' AND substr(name, 1, 1) = '''' AND substr(name, 2, 1) IN ('=', '+', '-', '@', chr(9), chr(13))
         THEN substr(name, 2) ELSE CAST(name AS VARCHAR) END AS name,
    CASE WHEN '${FORMAT}' = 'csv' AND substr(operator, 1, 1) = '''' AND substr(operator, 2, 1) IN ('=', '+', '-', '@', chr(9), chr(13))
         THEN substr(operator, 2) ELSE CAST(operator AS VARCHAR) END AS operator,
    CAST(step_type AS INTEGER) AS step_type,
    CAST(step_type_name AS VARCHAR) AS step_type_name,
    CAST(status AS INTEGER) AS status,
    CAST(status_name AS VARCHAR) AS status_name,
    CAST(outcome AS VARCHAR) AS outcome,
    CAST(is_finished AS BOOLEAN) AS is_finished,
    CAST(retry_count AS INTEGER) AS retry_count,
    CAST(start_time AS TIMESTAMP WITH TIME ZONE) AS start_time,
    CAST(end_time AS TIMESTAMP WITH TIME ZONE) AS end_time,
    CAST(total_time_s AS DOUBLE) AS total_time_s,
    CAST(total_ip_num AS BIGINT) AS total_ip_num,
    CAST(success_ip_num AS BIGINT) AS success_ip_num,
    CAST(fail_ip_num AS BIGINT) AS fail_ip_num,
    CAST(running_ip_num AS BIGINT) AS running_ip_num,
    CAST(abnormal_agent_ip_num AS BIGINT) AS abnormal_agent_ip_num,
    CAST(hosts_complete AS BOOLEAN) AS hosts_complete,
    CAST(fetched_at AS TIMESTAMP WITH TIME ZONE) AS fetched_at,
    CAST(run_id AS VARCHAR) AS run_id,
    CAST(day AS VARCHAR) AS day
FROM steps_files;

CREATE OR REPLACE VIEW step_hosts AS
SELECT
    CAST(bk_biz_id AS BIGINT) AS bk_biz_id,
    CAST(job_instance_id AS BIGINT) AS job_instance_id,
    CAST(step_instance_id AS BIGINT) AS step_instance_id,
    CAST(bk_cloud_id AS BIGINT) AS bk_cloud_id,
    CASE WHEN '${FORMAT}' = 'csv' AND substr(ip, 1, 1) = '''' AND substr(ip, 2, 1) IN ('=', '+', '-', '@', chr(9), chr(13))
         THEN substr(ip, 2) ELSE CAST(ip AS VARCHAR) END AS ip,
    CAST(result_type AS INTEGER) AS result_type,
    CASE WHEN '${FORMAT}' = 'csv' AND substr(result_type_text, 1, 1) = '''' AND substr(result_type_text, 2, 1) IN ('=', '+', '-', '@', chr(9), chr(13))
         THEN substr(result_type_text, 2) ELSE CAST(result_type_text AS VARCHAR) END AS result_type_text,
    CAST(outcome AS VARCHAR) AS outcome,
    CAST(bk_host_id AS BIGINT) AS bk_host_id,
    CASE WHEN '${FORMAT}' = 'csv' AND substr(ipv6, 1, 1) = '''' AND substr(ipv6, 2, 1) IN ('=', '+', '-', '@', chr(9), chr(13))
         THEN substr(ipv6, 2) ELSE CAST(ipv6 AS VARCHAR) END AS ipv6,
    CASE WHEN '${FORMAT}' = 'csv' AND substr(bk_agent_id, 1, 1) = '''' AND substr(bk_agent_id, 2, 1) IN ('=', '+', '-', '@', chr(9), chr(13))
         THEN substr(bk_agent_id, 2) ELSE CAST(bk_agent_id AS VARCHAR) END AS bk_agent_id,
    CAST(exit_code AS INTEGER) AS exit_code,
    CAST(error_code AS INTEGER) AS error_code,
    CASE WHEN '${FORMAT}' = 'csv' AND substr(tag, 1, 1) = '''' AND substr(tag, 2, 1) IN ('=', '+', '-', '@', chr(9), chr(13))
         THEN substr(tag, 2) ELSE CAST(tag AS VARCHAR) END AS tag,
    CAST(start_time AS TIMESTAMP WITH TIME ZONE) AS start_time,
    CAST(end_time AS TIMESTAMP WITH TIME ZONE) AS end_time,
    CAST(total_time_s AS DOUBLE) AS total_time_s,
    CAST(run_id AS VARCHAR) AS run_id,
    CAST(day AS VARCHAR) AS day
FROM step_hosts_files;

CREATE OR REPLACE VIEW fetch_errors AS
SELECT
    CAST(bk_biz_id AS BIGINT) AS bk_biz_id,
    CAST(job_instance_id AS BIGINT) AS job_instance_id,
    CAST(step_instance_id AS BIGINT) AS step_instance_id,
    CAST(error_kind AS VARCHAR) AS error_kind,
    CAST(http_status AS BIGINT) AS http_status,
    CAST(api_code AS BIGINT) AS api_code,
    CASE WHEN '${FORMAT}' = 'csv' AND substr(message, 1, 1) = '''' AND substr(message, 2, 1) IN ('=', '+', '-', '@', chr(9), chr(13))
         THEN substr(message, 2) ELSE CAST(message AS VARCHAR) END AS message,
    CAST(attempts AS INTEGER) AS attempts,
    CAST(fetched_at AS TIMESTAMP WITH TIME ZONE) AS fetched_at,
    CAST(run_id AS VARCHAR) AS run_id
FROM fetch_errors_files;

-- jobs: one row per job instance, derived from steps at each commit (docs/schema.md).
CREATE OR REPLACE VIEW jobs AS
SELECT
    CAST(bk_biz_id AS BIGINT) AS bk_biz_id,
    CAST(job_instance_id AS BIGINT) AS job_instance_id,
    CASE WHEN '${FORMAT}' = 'csv' AND substr(name, 1, 1) = '''' AND substr(name, 2, 1) IN ('=', '+', '-', '@', chr(9), chr(13))
         THEN substr(name, 2) ELSE CAST(name AS VARCHAR) END AS name,
    CASE WHEN '${FORMAT}' = 'csv' AND substr(operator, 1, 1) = '''' AND substr(operator, 2, 1) IN ('=', '+', '-', '@', chr(9), chr(13))
         THEN substr(operator, 2) ELSE CAST(operator AS VARCHAR) END AS operator,
    CAST(create_time AS TIMESTAMP WITH TIME ZONE) AS create_time,
    CAST(steps AS BIGINT) AS steps,
    CAST(steps_success AS BIGINT) AS steps_success,
    CAST(steps_failed AS BIGINT) AS steps_failed,
    CAST(steps_running AS BIGINT) AS steps_running,
    CAST(steps_pending AS BIGINT) AS steps_pending,
    CAST(steps_skipped AS BIGINT) AS steps_skipped,
    CAST(steps_stopped AS BIGINT) AS steps_stopped,
    CAST(steps_unknown AS BIGINT) AS steps_unknown,
    CAST(is_finished AS BOOLEAN) AS is_finished,
    CAST(first_start AS TIMESTAMP WITH TIME ZONE) AS first_start,
    CAST(last_end AS TIMESTAMP WITH TIME ZONE) AS last_end,
    CAST(total_time_s AS DOUBLE) AS total_time_s,
    CAST(span_s AS DOUBLE) AS span_s,
    CAST(worst_outcome AS VARCHAR) AS worst_outcome,
    CAST(fetched_at AS TIMESTAMP WITH TIME ZONE) AS fetched_at,
    CAST(run_id AS VARCHAR) AS run_id,
    CAST(day AS VARCHAR) AS day
FROM jobs_files;

-- step_host_logs: with --with-logs, the log tail of each failed host (one row per step, host).
CREATE OR REPLACE VIEW step_host_logs AS
SELECT
    CAST(bk_biz_id AS BIGINT) AS bk_biz_id,
    CAST(job_instance_id AS BIGINT) AS job_instance_id,
    CAST(step_instance_id AS BIGINT) AS step_instance_id,
    CAST(bk_cloud_id AS BIGINT) AS bk_cloud_id,
    CASE WHEN '${FORMAT}' = 'csv' AND substr(ip, 1, 1) = '''' AND substr(ip, 2, 1) IN ('=', '+', '-', '@', chr(9), chr(13))
         THEN substr(ip, 2) ELSE CAST(ip AS VARCHAR) END AS ip,
    CAST(bk_host_id AS BIGINT) AS bk_host_id,
    CAST(log_type AS INTEGER) AS log_type,
    CASE WHEN '${FORMAT}' = 'csv' AND substr(log_tail, 1, 1) = '''' AND substr(log_tail, 2, 1) IN ('=', '+', '-', '@', chr(9), chr(13))
         THEN substr(log_tail, 2) ELSE CAST(log_tail AS VARCHAR) END AS log_tail,
    CAST(log_truncated AS BOOLEAN) AS log_truncated,
    CAST(fetched_at AS TIMESTAMP WITH TIME ZONE) AS fetched_at,
    CAST(run_id AS VARCHAR) AS run_id,
    CAST(day AS VARCHAR) AS day
FROM step_host_logs_files;

-- 3. convenience views (portable) --------------------------------------------------------

-- step_results: one row per step with its host counts (0 when it has no host rows).
CREATE OR REPLACE VIEW step_results AS
SELECT
    s.bk_biz_id, s.job_instance_id, s.step_instance_id, s.step_id, s.name, s.operator,
    s.step_type, s.step_type_name, s.status, s.status_name, s.outcome, s.is_finished,
    s.retry_count, s.start_time, s.end_time, s.total_time_s, s.hosts_complete, s.day,
    COALESCE(h.host_rows, 0) AS host_rows,
    COALESCE(h.hosts_success, 0) AS hosts_success,
    COALESCE(h.hosts_failed, 0) AS hosts_failed,
    COALESCE(h.hosts_stopped, 0) AS hosts_stopped
FROM steps s
LEFT JOIN (
    SELECT
        step_instance_id,
        COUNT(*) AS host_rows,
        SUM(CASE WHEN outcome = 'success' THEN 1 ELSE 0 END) AS hosts_success,
        SUM(CASE WHEN outcome = 'failed' THEN 1 ELSE 0 END) AS hosts_failed,
        SUM(CASE WHEN outcome = 'stopped' THEN 1 ELSE 0 END) AS hosts_stopped
    FROM step_hosts
    GROUP BY step_instance_id
) h ON h.step_instance_id = s.step_instance_id;

-- host_results: one row per (step, host) with the step's name, type, operator and times.
CREATE OR REPLACE VIEW host_results AS
SELECT
    h.bk_biz_id, h.job_instance_id, h.step_instance_id, h.bk_cloud_id, h.ip,
    h.result_type, h.result_type_text, h.outcome,
    s.name AS step_name, s.step_type_name, s.operator, s.outcome AS step_outcome,
    s.start_time, s.end_time
FROM step_hosts h
LEFT JOIN steps s ON s.step_instance_id = h.step_instance_id;

-- step_durations: steps that ran to an end (is_finished, not skipped) with a total_time_s.
CREATE OR REPLACE VIEW step_durations AS
SELECT
    bk_biz_id, job_instance_id, step_instance_id, name, step_type_name, operator, outcome,
    start_time, end_time, total_time_s
FROM steps
WHERE is_finished AND outcome <> 'skipped' AND total_time_s IS NOT NULL;
