-- compare_by_step_name.sql - per step name, failed steps in the window and in the same span
-- before it (after window.sql). Only names with a failed step in either span; the top 30 by
-- failed steps in the window, then by fewest failed before (new failures first).
-- total_groups = how many such names in all.
-- Columns: name, steps, steps_success, steps_failed, step_failure_rate, before_steps,
--   before_steps_success, before_steps_failed, before_step_failure_rate, total_groups.
WITH spans AS (
    SELECT 'window' AS period, name, outcome FROM window_steps
    UNION ALL
    SELECT 'before' AS period, name, outcome FROM before_steps
),
per_name AS (
    SELECT
        name,
        SUM(CASE WHEN period = 'window' THEN 1 ELSE 0 END) AS steps,
        SUM(CASE WHEN period = 'window' AND outcome = 'success' THEN 1 ELSE 0 END)
            AS steps_success,
        SUM(CASE WHEN period = 'window' AND outcome = 'failed' THEN 1 ELSE 0 END)
            AS steps_failed,
        SUM(CASE WHEN period = 'before' THEN 1 ELSE 0 END) AS before_steps,
        SUM(CASE WHEN period = 'before' AND outcome = 'success' THEN 1 ELSE 0 END)
            AS before_steps_success,
        SUM(CASE WHEN period = 'before' AND outcome = 'failed' THEN 1 ELSE 0 END)
            AS before_steps_failed
    FROM spans
    GROUP BY name
)
SELECT
    name,
    steps,
    steps_success,
    steps_failed,
    CAST(steps_failed AS DOUBLE) / NULLIF(steps_success + steps_failed, 0) AS step_failure_rate,
    before_steps,
    before_steps_success,
    before_steps_failed,
    CAST(before_steps_failed AS DOUBLE) / NULLIF(before_steps_success + before_steps_failed, 0)
        AS before_step_failure_rate,
    COUNT(*) OVER () AS total_groups
FROM per_name
WHERE steps_failed > 0 OR before_steps_failed > 0
ORDER BY steps_failed DESC, before_steps_failed, steps DESC, name NULLS LAST
LIMIT 30;
