-- failing_hosts.sql - the hosts that fail most: the 50 (bk_cloud_id, ip) pairs with the most
-- failed host rows (then the highest host failure rate). Only hosts with a failure.
-- total_hosts = how many hosts failed at least once. A host has one row per step, so its
-- failed rows are the steps it failed in.
-- Nights: a night is a `day` value (the step's start date in --api-timezone); the nights of
-- the dataset are the days that hold at least one step. failed_days = nights on which the
-- host failed at least once; streak_days = nights in a row, ending at the dataset's latest
-- night, on which it failed (0 when it did not fail on the latest night; a night on which
-- it did not fail, or was not a target, ends the streak; a calendar day with no step at all
-- in the dataset does not). days_in_data = nights in the dataset.
-- Columns: bk_cloud_id, ip, host_rows, hosts_success, hosts_failed, host_failure_rate,
--   failed_jobs (distinct jobs it failed in), top_result_text (its most frequent failing
--   result text; ties: the smallest text), top_result_count, failed_days, streak_days,
--   days_in_data, total_hosts.
WITH per_host AS (
    SELECT
        bk_cloud_id,
        ip,
        COUNT(*) AS host_rows,
        SUM(CASE WHEN outcome = 'success' THEN 1 ELSE 0 END) AS hosts_success,
        SUM(CASE WHEN outcome = 'failed' THEN 1 ELSE 0 END) AS hosts_failed
    FROM step_hosts
    GROUP BY bk_cloud_id, ip
),
ranked AS (
    SELECT
        bk_cloud_id, ip, host_rows, hosts_success, hosts_failed,
        CAST(hosts_failed AS DOUBLE) / NULLIF(hosts_success + hosts_failed, 0)
            AS host_failure_rate,
        COUNT(*) OVER () AS total_hosts
    FROM per_host
    WHERE hosts_failed > 0
    ORDER BY hosts_failed DESC, host_failure_rate DESC, bk_cloud_id NULLS LAST, ip NULLS LAST
    LIMIT 50
),
failures AS (
    SELECT h.bk_cloud_id, h.ip, h.job_instance_id, h.result_type_text, h.day
    FROM step_hosts h
    JOIN ranked r ON r.bk_cloud_id = h.bk_cloud_id AND r.ip = h.ip
    WHERE h.outcome = 'failed'
),
host_jobs AS (
    SELECT bk_cloud_id, ip, COUNT(DISTINCT job_instance_id) AS failed_jobs
    FROM failures
    GROUP BY bk_cloud_id, ip
),
texts AS (
    SELECT
        bk_cloud_id, ip, result_type_text, COUNT(*) AS n,
        ROW_NUMBER() OVER (
            PARTITION BY bk_cloud_id, ip ORDER BY COUNT(*) DESC, result_type_text NULLS LAST
        ) AS rk
    FROM failures
    GROUP BY bk_cloud_id, ip, result_type_text
),
nights AS (
    SELECT day, ROW_NUMBER() OVER (ORDER BY day DESC) AS night_rank
    FROM (SELECT DISTINCT day FROM steps WHERE day IS NOT NULL) d
),
failed_nights AS (
    SELECT
        f.bk_cloud_id, f.ip, n.night_rank,
        ROW_NUMBER() OVER (PARTITION BY f.bk_cloud_id, f.ip ORDER BY n.night_rank) AS nth
    FROM (SELECT DISTINCT bk_cloud_id, ip, day FROM failures) f
    JOIN nights n ON n.day = f.day
),
streaks AS (
    SELECT
        bk_cloud_id, ip,
        COUNT(*) AS failed_days,
        SUM(CASE WHEN nth = night_rank THEN 1 ELSE 0 END) AS streak_days
    FROM failed_nights
    GROUP BY bk_cloud_id, ip
),
night_count AS (
    SELECT COUNT(*) AS days_in_data FROM nights
)
SELECT
    r.bk_cloud_id, r.ip, r.host_rows, r.hosts_success, r.hosts_failed, r.host_failure_rate,
    j.failed_jobs,
    t.result_type_text AS top_result_text,
    t.n AS top_result_count,
    COALESCE(s.failed_days, 0) AS failed_days,
    COALESCE(s.streak_days, 0) AS streak_days,
    c.days_in_data,
    r.total_hosts
FROM ranked r
CROSS JOIN night_count c
LEFT JOIN host_jobs j ON j.bk_cloud_id = r.bk_cloud_id AND j.ip = r.ip
LEFT JOIN texts t ON t.bk_cloud_id = r.bk_cloud_id AND t.ip = r.ip AND t.rk = 1
LEFT JOIN streaks s ON s.bk_cloud_id = r.bk_cloud_id AND s.ip = r.ip
ORDER BY r.hosts_failed DESC, r.host_failure_rate DESC, r.bk_cloud_id NULLS LAST,
    r.ip NULLS LAST;
