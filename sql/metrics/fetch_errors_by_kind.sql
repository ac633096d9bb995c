-- fetch_errors_by_kind.sql - requested IDs that could not be exported, per error kind.
-- Columns: error_kind, errors (rows in fetch_errors), jobs (distinct job instances),
--   whole_jobs (rows for a whole job: step_instance_id NULL), example_message (the smallest
--   message of the kind, as a sample).
SELECT
    error_kind,
    COUNT(*) AS errors,
    COUNT(DISTINCT job_instance_id) AS jobs,
    SUM(CASE WHEN step_instance_id IS NULL THEN 1 ELSE 0 END) AS whole_jobs,
    MIN(message) AS example_message
FROM fetch_errors
GROUP BY error_kind
ORDER BY errors DESC, error_kind NULLS LAST;
