-- host_failure_causes.sql - failed host rows grouped into readable causes by result_type
-- (API reference section 6.5):
--   agent          1, 12, 18, 310   abnormal agent, task not sent, agent not installed
--   timeout        13, 16, 17, 102, 303
--   script_exit    15, 101, 104     script failed, non-zero exit code, error in log
--   file_transfer  202, 203, 301, 320, 321, 329
--   account        311, 312         user missing, wrong password
--   other          any other failed code (0, 2, 11, 103, 399, 404, 500, ...)
-- Columns: cause, host_rows, steps (distinct steps), hosts (distinct (bk_cloud_id, ip)).
WITH failed AS (
    SELECT
        step_instance_id, bk_cloud_id, ip,
        CASE
            WHEN result_type IN (1, 12, 18, 310) THEN 'agent'
            WHEN result_type IN (13, 16, 17, 102, 303) THEN 'timeout'
            WHEN result_type IN (15, 101, 104) THEN 'script_exit'
            WHEN result_type IN (202, 203, 301, 320, 321, 329) THEN 'file_transfer'
            WHEN result_type IN (311, 312) THEN 'account'
            ELSE 'other'
        END AS cause
    FROM step_hosts
    WHERE outcome = 'failed'
),
per_cause AS (
    SELECT cause, COUNT(*) AS host_rows, COUNT(DISTINCT step_instance_id) AS steps
    FROM failed
    GROUP BY cause
),
cause_hosts AS (
    SELECT cause, COUNT(*) AS hosts
    FROM (SELECT DISTINCT cause, bk_cloud_id, ip FROM failed) pairs
    GROUP BY cause
)
SELECT p.cause, p.host_rows, p.steps, c.hosts
FROM per_cause p
JOIN cause_hosts c ON c.cause = p.cause
ORDER BY p.host_rows DESC, p.cause;
