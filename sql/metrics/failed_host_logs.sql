-- failed_host_logs.sql - the log tails (table step_host_logs, written by runs with
-- --with-logs) of failing hosts shown under "Failed steps": the 50 most recent failed steps
-- (ranked as in failed_steps.sql) and, for each, its first 5 failing hosts by
-- (bk_cloud_id, ip). Only hosts with a log row appear. log_tail is the last 2000 characters
-- of the stored tail (which itself is the last --log-tail-kib KiB of the log).
-- Columns: step_instance_id, bk_cloud_id, ip, host_rank, log_type, log_tail, truncated
--   (true when the report or the export cut the log).
WITH top_steps AS (
    SELECT step_instance_id
    FROM (
        SELECT
            step_instance_id,
            ROW_NUMBER() OVER (ORDER BY start_time DESC NULLS LAST, step_instance_id DESC)
                AS step_rank
        FROM step_results
        WHERE outcome = 'failed'
    ) ranked
    WHERE step_rank <= 50
),
failing AS (
    SELECT
        h.step_instance_id, h.bk_cloud_id, h.ip,
        ROW_NUMBER() OVER (
            PARTITION BY h.step_instance_id
            ORDER BY h.bk_cloud_id NULLS LAST, h.ip NULLS LAST, h.result_type
        ) AS host_rank
    FROM step_hosts h
    JOIN top_steps t ON t.step_instance_id = h.step_instance_id
    WHERE h.outcome = 'failed'
)
SELECT
    f.step_instance_id, f.bk_cloud_id, f.ip, f.host_rank, l.log_type,
    CASE WHEN length(l.log_tail) > 2000 THEN substr(l.log_tail, length(l.log_tail) - 1999)
         ELSE l.log_tail END AS log_tail,
    (l.log_truncated OR length(l.log_tail) > 2000) AS truncated
FROM failing f
JOIN step_host_logs l
    ON l.step_instance_id = f.step_instance_id AND l.bk_cloud_id = f.bk_cloud_id AND l.ip = f.ip
WHERE f.host_rank <= 5 AND l.log_tail IS NOT NULL
ORDER BY f.step_instance_id, f.host_rank;
