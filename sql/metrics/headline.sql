-- headline.sql - the report's headline: one row.
--   jobs               distinct job instances (job_instance_id) in steps
--   steps              distinct step instances (step_instance_id) in steps
--   hosts              distinct (bk_cloud_id, ip) pairs in step_hosts
--   host_rows          rows in step_hosts (one per step and host)
--   steps_<outcome>    steps per outcome; hosts_<outcome> host rows per outcome
--   step_failure_rate  steps failed / (success + failed); NULL when that base is 0
--   host_failure_rate  host rows failed / (success + failed); NULL when that base is 0
--   first_start, last_end  earliest step start, latest step end (UTC)
-- Stopped and skipped are counted on their own and are in neither rate (CONTRACT section 5).
WITH s AS (
    SELECT
        COUNT(DISTINCT job_instance_id) AS jobs,
        COUNT(DISTINCT step_instance_id) AS steps,
        SUM(CASE WHEN outcome = 'success' THEN 1 ELSE 0 END) AS steps_success,
        SUM(CASE WHEN outcome = 'failed' THEN 1 ELSE 0 END) AS steps_failed,
        SUM(CASE WHEN outcome = 'stopped' THEN 1 ELSE 0 END) AS steps_stopped,
        SUM(CASE WHEN outcome = 'skipped' THEN 1 ELSE 0 END) AS steps_skipped,
        SUM(CASE WHEN outcome = 'running' THEN 1 ELSE 0 END) AS steps_running,
        SUM(CASE WHEN outcome = 'pending' THEN 1 ELSE 0 END) AS steps_pending,
        SUM(CASE WHEN outcome NOT IN ('success', 'failed', 'stopped', 'skipped', 'running', 'pending')
                   OR outcome IS NULL THEN 1 ELSE 0 END) AS steps_unknown,
        MIN(start_time) AS first_start,
        MAX(end_time) AS last_end
    FROM steps
),
h AS (
    SELECT
        COUNT(*) AS host_rows,
        SUM(CASE WHEN outcome = 'success' THEN 1 ELSE 0 END) AS hosts_success,
        SUM(CASE WHEN outcome = 'failed' THEN 1 ELSE 0 END) AS hosts_failed,
        SUM(CASE WHEN outcome = 'stopped' THEN 1 ELSE 0 END) AS hosts_stopped,
        SUM(CASE WHEN outcome IN ('running', 'pending') THEN 1 ELSE 0 END) AS hosts_unfinished,
        SUM(CASE WHEN outcome NOT IN ('success', 'failed', 'stopped', 'running', 'pending')
                   OR outcome IS NULL THEN 1 ELSE 0 END) AS hosts_unknown
    FROM step_hosts
),
d AS (
    SELECT COUNT(*) AS hosts
    FROM (SELECT DISTINCT bk_cloud_id, ip FROM step_hosts) pairs
)
SELECT
    s.jobs,
    s.steps,
    d.hosts,
    h.host_rows,
    COALESCE(s.steps_success, 0) AS steps_success,
    COALESCE(s.steps_failed, 0) AS steps_failed,
    COALESCE(s.steps_stopped, 0) AS steps_stopped,
    COALESCE(s.steps_skipped, 0) AS steps_skipped,
    COALESCE(s.steps_running, 0) AS steps_running,
    COALESCE(s.steps_pending, 0) AS steps_pending,
    COALESCE(s.steps_unknown, 0) AS steps_unknown,
    CAST(s.steps_failed AS DOUBLE) / NULLIF(s.steps_success + s.steps_failed, 0) AS step_failure_rate,
    COALESCE(h.hosts_success, 0) AS hosts_success,
    COALESCE(h.hosts_failed, 0) AS hosts_failed,
    COALESCE(h.hosts_stopped, 0) AS hosts_stopped,
    COALESCE(h.hosts_unfinished, 0) AS hosts_unfinished,
    COALESCE(h.hosts_unknown, 0) AS hosts_unknown,
    CAST(h.hosts_failed AS DOUBLE) / NULLIF(h.hosts_success + h.hosts_failed, 0) AS host_failure_rate,
    s.first_start,
    s.last_end
FROM s CROSS JOIN h CROSS JOIN d;
