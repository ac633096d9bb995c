-- outcome_counts.sql - rows per outcome, steps and hosts apart, so that stopped, skipped,
-- running, pending and unknown are shown on their own (they are in neither failure rate).
-- Columns: table_name ('steps' | 'step_hosts'), outcome, row_count.
SELECT 'steps' AS table_name, outcome, COUNT(*) AS row_count
FROM steps
GROUP BY outcome
UNION ALL
SELECT 'step_hosts' AS table_name, outcome, COUNT(*) AS row_count
FROM step_hosts
GROUP BY outcome
ORDER BY table_name DESC, row_count DESC, outcome NULLS LAST;
