-- compare.sql - the window against the same span before it (after window.sql): the headline
-- figures of each span, one row per span, 'before' first.
-- Columns: period ('before' | 'window'), jobs, steps, hosts, host_rows, steps_success,
--   steps_failed, step_failure_rate, hosts_success, hosts_failed, host_failure_rate.
-- Definitions as in headline.sql; a step running across the window's start is in both spans.
WITH spans AS (
    SELECT 'window' AS period, job_instance_id, step_instance_id, outcome FROM window_steps
    UNION ALL
    SELECT 'before' AS period, job_instance_id, step_instance_id, outcome FROM before_steps
),
host_spans AS (
    SELECT 'window' AS period, bk_cloud_id, ip, outcome FROM window_step_hosts
    UNION ALL
    SELECT 'before' AS period, bk_cloud_id, ip, outcome FROM before_step_hosts
),
periods AS (
    SELECT 'before' AS period, 1 AS period_order
    UNION ALL
    SELECT 'window' AS period, 2 AS period_order
),
s AS (
    SELECT
        period,
        COUNT(DISTINCT job_instance_id) AS jobs,
        COUNT(DISTINCT step_instance_id) AS steps,
        SUM(CASE WHEN outcome = 'success' THEN 1 ELSE 0 END) AS steps_success,
        SUM(CASE WHEN outcome = 'failed' THEN 1 ELSE 0 END) AS steps_failed
    FROM spans
    GROUP BY period
),
h AS (
    SELECT
        period,
        COUNT(*) AS host_rows,
        SUM(CASE WHEN outcome = 'success' THEN 1 ELSE 0 END) AS hosts_success,
        SUM(CASE WHEN outcome = 'failed' THEN 1 ELSE 0 END) AS hosts_failed
    FROM host_spans
    GROUP BY period
),
d AS (
    SELECT period, COUNT(*) AS hosts
    FROM (SELECT DISTINCT period, bk_cloud_id, ip FROM host_spans) pairs
    GROUP BY period
)
SELECT
    p.period,
    COALESCE(s.jobs, 0) AS jobs,
    COALESCE(s.steps, 0) AS steps,
    COALESCE(d.hosts, 0) AS hosts,
    COALESCE(h.host_rows, 0) AS host_rows,
    COALESCE(s.steps_success, 0) AS steps_success,
    COALESCE(s.steps_failed, 0) AS steps_failed,
    CAST(s.steps_failed AS DOUBLE) / NULLIF(s.steps_success + s.steps_failed, 0)
        AS step_failure_rate,
    COALESCE(h.hosts_success, 0) AS hosts_success,
    COALESCE(h.hosts_failed, 0) AS hosts_failed,
    CAST(h.hosts_failed AS DOUBLE) / NULLIF(h.hosts_success + h.hosts_failed, 0)
        AS host_failure_rate
FROM periods p
LEFT JOIN s ON s.period = p.period
LEFT JOIN h ON h.period = p.period
LEFT JOIN d ON d.period = p.period
ORDER BY p.period_order;
