-- rates_by_day.sql - the headline figures per day (the `day` partition: the step's start date
-- in --api-timezone, or its fetch date when it has not started). The last 90 days, newest first.
-- The report's "latest day against the one before" compares the first two rows: the latest
-- day in the dataset and the previous day that has data.
-- Columns: day, jobs (distinct job instances), steps (distinct step instances), hosts
--   (distinct (bk_cloud_id, ip) in the day's step_hosts rows), steps_success, steps_failed,
--   step_failure_rate, host_rows, hosts_success, hosts_failed, host_failure_rate.
WITH per_day AS (
    SELECT
        day,
        COUNT(DISTINCT job_instance_id) AS jobs,
        COUNT(DISTINCT step_instance_id) AS steps,
        SUM(CASE WHEN outcome = 'success' THEN 1 ELSE 0 END) AS steps_success,
        SUM(CASE WHEN outcome = 'failed' THEN 1 ELSE 0 END) AS steps_failed,
        SUM(host_rows) AS host_rows,
        SUM(hosts_success) AS hosts_success,
        SUM(hosts_failed) AS hosts_failed
    FROM step_results
    GROUP BY day
),
day_hosts AS (
    SELECT day, COUNT(*) AS hosts
    FROM (SELECT DISTINCT day, bk_cloud_id, ip FROM step_hosts) pairs
    GROUP BY day
)
SELECT
    p.day,
    p.jobs,
    p.steps,
    COALESCE(d.hosts, 0) AS hosts,
    p.steps_success,
    p.steps_failed,
    CAST(p.steps_failed AS DOUBLE) / NULLIF(p.steps_success + p.steps_failed, 0)
        AS step_failure_rate,
    p.host_rows,
    p.hosts_success,
    p.hosts_failed,
    CAST(p.hosts_failed AS DOUBLE) / NULLIF(p.hosts_success + p.hosts_failed, 0)
        AS host_failure_rate
FROM per_day p
LEFT JOIN day_hosts d ON d.day = p.day
ORDER BY p.day DESC NULLS LAST
LIMIT 90;
