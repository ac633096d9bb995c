-- duration_by_step_name.sql - step duration percentiles per step name, in seconds.
-- Over step_durations: steps that ran to an end (is_finished, not skipped) with a
-- total_time_s. Percentiles are continuous with linear interpolation between the two nearest
-- ranks (percentile_cont, as numpy's / pandas' default 'linear' quantile): for n values sorted
-- ascending, p = value at position 1 + q * (n - 1), interpolated.
-- The top 50 names by p90, then p50; total_groups = how many names in all.
-- Columns: name, steps, p50_s, p90_s, p99_s, max_s, mean_s, total_groups.
-- Portability: percentile_cont ... WITHIN GROUP runs on DuckDB and Spark SQL >= 3.4; Trino
-- has no exact percentile (use approx_percentile(total_time_s, q) there).
SELECT
    name,
    COUNT(*) AS steps,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY total_time_s) AS p50_s,
    percentile_cont(0.9) WITHIN GROUP (ORDER BY total_time_s) AS p90_s,
    percentile_cont(0.99) WITHIN GROUP (ORDER BY total_time_s) AS p99_s,
    MAX(total_time_s) AS max_s,
    AVG(total_time_s) AS mean_s,
    COUNT(*) OVER () AS total_groups
FROM step_durations
GROUP BY name
ORDER BY p90_s DESC, p50_s DESC, name NULLS LAST
LIMIT 50;
