-- host_failure_causes.sql - failed host rows grouped into readable causes by result_type
-- (API reference section 6.5):
--   agent          agent down              1, 12, 18, 310  abnormal agent, task not sent,
--                                                          agent not installed
--   timeout        timeout                 13, 16, 17, 102, 303
--   script_exit    script non-zero exit    15, 101, 104    script failed, non-zero exit code,
--                                                          error in log
--   file_transfer  file transfer           202, 203, 301, 320, 321, 329
--   account        account/permission      311, 312        user missing, wrong password
--   other          other                   any other failed code (0, 2, 11, 103, 399, 404,
--                                                          500, ...)
-- Columns: cause, cause_label, host_rows (failed host rows), share (of all failed host rows),
--   steps (distinct steps), hosts (distinct (bk_cloud_id, ip)), top_result_type and
--   top_result_text (the cause's most frequent result; ties: the smallest code, then text),
--   top_result_count.
WITH failed AS (
    SELECT
        step_instance_id, bk_cloud_id, ip, result_type, result_type_text,
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
),
results AS (
    SELECT
        cause, result_type, result_type_text, COUNT(*) AS n,
        ROW_NUMBER() OVER (
            PARTITION BY cause
            ORDER BY COUNT(*) DESC, result_type NULLS LAST, result_type_text NULLS LAST
        ) AS rk
    FROM failed
    GROUP BY cause, result_type, result_type_text
),
total AS (
    SELECT COUNT(*) AS failed_rows FROM failed
)
SELECT
    p.cause,
    CASE p.cause
        WHEN 'agent' THEN 'agent down'
        WHEN 'timeout' THEN 'timeout'
        WHEN 'script_exit' THEN 'script non-zero exit'
        WHEN 'file_transfer' THEN 'file transfer'
        WHEN 'account' THEN 'account/permission'
        ELSE 'other'
    END AS cause_label,
    p.host_rows,
    CAST(p.host_rows AS DOUBLE) / t.failed_rows AS share,
    p.steps,
    c.hosts,
    r.result_type AS top_result_type,
    r.result_type_text AS top_result_text,
    r.n AS top_result_count
FROM per_cause p
JOIN cause_hosts c ON c.cause = p.cause
JOIN results r ON r.cause = p.cause AND r.rk = 1
CROSS JOIN total t
ORDER BY p.host_rows DESC, p.cause;
