-- rates_by_day.sql - step and host failure rates per day (the `day` partition: the step's
-- start date in --api-timezone, or its fetch date when it has not started). The last 90 days.
-- Columns: day, steps, steps_success, steps_failed, step_failure_rate, host_rows,
--   hosts_success, hosts_failed, host_failure_rate.
SELECT
    day,
    COUNT(*) AS steps,
    SUM(CASE WHEN outcome = 'success' THEN 1 ELSE 0 END) AS steps_success,
    SUM(CASE WHEN outcome = 'failed' THEN 1 ELSE 0 END) AS steps_failed,
    CAST(SUM(CASE WHEN outcome = 'failed' THEN 1 ELSE 0 END) AS DOUBLE)
        / NULLIF(SUM(CASE WHEN outcome IN ('success', 'failed') THEN 1 ELSE 0 END), 0)
        AS step_failure_rate,
    SUM(host_rows) AS host_rows,
    SUM(hosts_success) AS hosts_success,
    SUM(hosts_failed) AS hosts_failed,
    CAST(SUM(hosts_failed) AS DOUBLE) / NULLIF(SUM(hosts_success) + SUM(hosts_failed), 0)
        AS host_failure_rate
FROM step_results
GROUP BY day
ORDER BY day DESC NULLS LAST
LIMIT 90;
