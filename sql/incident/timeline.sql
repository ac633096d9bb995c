-- timeline.sql - the steps of the window, one lane per job (after window.sql).
-- At most 40 lanes: the jobs with most failed steps first, then the earliest; lanes are
-- numbered in order of the job's first start. total_jobs = jobs in the window in all.
-- bar_end = end_time, or for a step that has not ended the time it was last fetched.
-- job_name comes from the jobs table (NULL where no job-level answer gave it).
-- Columns: lane, total_jobs, bk_biz_id, job_instance_id, job_name, job_steps,
--   job_steps_failed, job_start, job_end, step_instance_id, name, step_type_name, outcome, status_name,
--   start_time, end_time, bar_end, total_time_s, host_rows, hosts_failed.
WITH per_job AS (
    SELECT
        bk_biz_id,
        job_instance_id,
        COUNT(*) AS job_steps,
        SUM(CASE WHEN outcome = 'failed' THEN 1 ELSE 0 END) AS job_steps_failed,
        MIN(start_time) AS job_start,
        MAX(COALESCE(end_time, fetched_at, start_time)) AS job_end
    FROM window_steps
    GROUP BY bk_biz_id, job_instance_id
),
ranked AS (
    SELECT
        bk_biz_id, job_instance_id, job_steps, job_steps_failed, job_start, job_end,
        ROW_NUMBER() OVER (
            ORDER BY job_steps_failed DESC, job_start, bk_biz_id, job_instance_id
        ) AS job_rank,
        COUNT(*) OVER () AS total_jobs
    FROM per_job
),
lanes AS (
    SELECT
        bk_biz_id, job_instance_id, job_steps, job_steps_failed, job_start, job_end,
        total_jobs,
        ROW_NUMBER() OVER (ORDER BY job_start, bk_biz_id, job_instance_id) AS lane
    FROM ranked
    WHERE job_rank <= 40
),
hosts AS (
    SELECT
        step_instance_id,
        COUNT(*) AS host_rows,
        SUM(CASE WHEN outcome = 'failed' THEN 1 ELSE 0 END) AS hosts_failed
    FROM window_step_hosts
    GROUP BY step_instance_id
)
SELECT
    l.lane, l.total_jobs, l.bk_biz_id, l.job_instance_id, j.name AS job_name,
    l.job_steps, l.job_steps_failed,
    l.job_start, l.job_end,
    s.step_instance_id, s.name, s.step_type_name, s.outcome, s.status_name,
    s.start_time, s.end_time,
    COALESCE(s.end_time, s.fetched_at, s.start_time) AS bar_end,
    s.total_time_s,
    COALESCE(h.host_rows, 0) AS host_rows,
    COALESCE(h.hosts_failed, 0) AS hosts_failed
FROM lanes l
JOIN window_steps s ON s.bk_biz_id = l.bk_biz_id AND s.job_instance_id = l.job_instance_id
LEFT JOIN hosts h ON h.step_instance_id = s.step_instance_id
LEFT JOIN jobs j ON j.job_instance_id = l.job_instance_id
ORDER BY l.lane, s.start_time, s.step_instance_id;
