-- slowest_steps.sql - the 50 slowest steps by total_time_s (steps that ran to an end).
-- total_steps = how many steps have a duration in all.
-- Columns: bk_biz_id, job_instance_id, step_instance_id, name, step_type_name, operator,
--   outcome, start_time, end_time, total_time_s, total_steps.
SELECT
    bk_biz_id, job_instance_id, step_instance_id, name, step_type_name, operator, outcome,
    start_time, end_time, total_time_s,
    COUNT(*) OVER () AS total_steps
FROM step_durations
ORDER BY total_time_s DESC, step_instance_id
LIMIT 50;
