-- failed_steps.sql - the failed steps (outcome 'failed') with their failing hosts and result
-- texts. The 50 most recent failed steps (by start_time, newest first), and for each at most
-- 20 failing hosts (by bk_cloud_id, ip). One row per (step, failing host); a failed step with
-- no failing host row appears once with NULL host columns.
-- total_failed_steps = failed steps in all; hosts_failed = the step's failing hosts in all.
-- Columns: step_rank, total_failed_steps, bk_biz_id, job_instance_id, step_instance_id,
--   name, step_type_name, operator, status_name, start_time, end_time, total_time_s,
--   host_rows, hosts_failed, hosts_complete, host_rank, bk_cloud_id, ip, result_type,
--   result_type_text.
WITH failed AS (
    SELECT
        bk_biz_id, job_instance_id, step_instance_id, name, step_type_name, operator,
        status_name, start_time, end_time, total_time_s, host_rows, hosts_failed,
        hosts_complete,
        ROW_NUMBER() OVER (ORDER BY start_time DESC NULLS LAST, step_instance_id DESC)
            AS step_rank,
        COUNT(*) OVER () AS total_failed_steps
    FROM step_results
    WHERE outcome = 'failed'
),
top_steps AS (
    SELECT * FROM failed WHERE step_rank <= 50
),
failing_hosts AS (
    SELECT
        h.step_instance_id, h.bk_cloud_id, h.ip, h.result_type, h.result_type_text,
        ROW_NUMBER() OVER (
            PARTITION BY h.step_instance_id
            ORDER BY h.bk_cloud_id NULLS LAST, h.ip NULLS LAST, h.result_type
        ) AS host_rank
    FROM step_hosts h
    JOIN top_steps t ON t.step_instance_id = h.step_instance_id
    WHERE h.outcome = 'failed'
)
SELECT
    t.step_rank, t.total_failed_steps, t.bk_biz_id, t.job_instance_id, t.step_instance_id,
    t.name, t.step_type_name, t.operator, t.status_name, t.start_time, t.end_time,
    t.total_time_s, t.host_rows, t.hosts_failed, t.hosts_complete,
    f.host_rank, f.bk_cloud_id, f.ip, f.result_type, f.result_type_text
FROM top_steps t
LEFT JOIN failing_hosts f
    ON f.step_instance_id = t.step_instance_id AND f.host_rank <= 20
ORDER BY t.step_rank, f.host_rank;
