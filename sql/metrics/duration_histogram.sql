-- duration_histogram.sql - how step durations are spread: steps per duration band.
-- Over step_durations (steps that ran to an end, not skipped, with a total_time_s).
-- Bands are left-closed: [0, 1 s), [1 s, 10 s), [10 s, 30 s), [30 s, 1 min), [1, 5 min),
-- [5, 15 min), [15, 60 min), [1 h, ...). Bands with no step are absent.
-- Columns: band_order (1..8), band, steps, steps_success, steps_failed, steps_other.
SELECT
    band_order,
    band,
    COUNT(*) AS steps,
    SUM(CASE WHEN outcome = 'success' THEN 1 ELSE 0 END) AS steps_success,
    SUM(CASE WHEN outcome = 'failed' THEN 1 ELSE 0 END) AS steps_failed,
    SUM(CASE WHEN outcome NOT IN ('success', 'failed') THEN 1 ELSE 0 END) AS steps_other
FROM (
    SELECT
        outcome,
        CASE
            WHEN total_time_s < 1 THEN 1
            WHEN total_time_s < 10 THEN 2
            WHEN total_time_s < 30 THEN 3
            WHEN total_time_s < 60 THEN 4
            WHEN total_time_s < 300 THEN 5
            WHEN total_time_s < 900 THEN 6
            WHEN total_time_s < 3600 THEN 7
            ELSE 8
        END AS band_order,
        CASE
            WHEN total_time_s < 1 THEN '< 1 s'
            WHEN total_time_s < 10 THEN '1-10 s'
            WHEN total_time_s < 30 THEN '10-30 s'
            WHEN total_time_s < 60 THEN '30-60 s'
            WHEN total_time_s < 300 THEN '1-5 min'
            WHEN total_time_s < 900 THEN '5-15 min'
            WHEN total_time_s < 3600 THEN '15-60 min'
            ELSE '>= 1 h'
        END AS band
    FROM step_durations
) banded
GROUP BY band_order, band
ORDER BY band_order;
