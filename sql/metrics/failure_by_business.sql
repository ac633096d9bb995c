-- failure_by_business.sql - step and host failure rates per business (bk_biz_id).
-- The top 50 by failed steps, then failed host rows; total_groups = how many groups in all.
-- Columns: bk_biz_id, steps, steps_success, steps_failed, steps_stopped, steps_skipped,
--   step_failure_rate, host_rows, hosts_success, hosts_failed, hosts_stopped,
--   host_failure_rate, total_groups.
-- Rates: failed / (success + failed), NULL when the base is 0 (CONTRACT section 5); host
-- figures count the step_hosts rows of the group's steps.
SELECT
    bk_biz_id,
    COUNT(*) AS steps,
    SUM(CASE WHEN outcome = 'success' THEN 1 ELSE 0 END) AS steps_success,
    SUM(CASE WHEN outcome = 'failed' THEN 1 ELSE 0 END) AS steps_failed,
    SUM(CASE WHEN outcome = 'stopped' THEN 1 ELSE 0 END) AS steps_stopped,
    SUM(CASE WHEN outcome = 'skipped' THEN 1 ELSE 0 END) AS steps_skipped,
    CAST(SUM(CASE WHEN outcome = 'failed' THEN 1 ELSE 0 END) AS DOUBLE)
        / NULLIF(SUM(CASE WHEN outcome IN ('success', 'failed') THEN 1 ELSE 0 END), 0)
        AS step_failure_rate,
    SUM(host_rows) AS host_rows,
    SUM(hosts_success) AS hosts_success,
    SUM(hosts_failed) AS hosts_failed,
    SUM(hosts_stopped) AS hosts_stopped,
    CAST(SUM(hosts_failed) AS DOUBLE) / NULLIF(SUM(hosts_success) + SUM(hosts_failed), 0)
        AS host_failure_rate,
    COUNT(*) OVER () AS total_groups
FROM step_results
GROUP BY bk_biz_id
ORDER BY steps_failed DESC, hosts_failed DESC, steps DESC, bk_biz_id NULLS LAST
LIMIT 50;
