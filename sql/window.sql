-- window.sql - the incident view's window: run after views.sql; from then on the views
-- steps, step_hosts and fetch_errors (and the convenience views over them) hold only the
-- window's rows, so every sql/metrics/*.sql file gives the window's figures, and
-- sql/incident/*.sql compare the window with the same span before it.
--
-- Placeholders (pipeline.report fills them in; by hand, replace them yourself):
--   ${SINCE}   the window's start, ISO-8601 with offset, e.g. 2026-11-29T01:00:00+00:00
--   ${UNTIL}   the window's end (excluded), the same form
--   ${BEFORE}  the start of the span before: SINCE - (UNTIL - SINCE)
--   ${FILTER}  a condition on bk_biz_id / job_instance_id: TRUE for every job, or e.g.
--              bk_biz_id IN (2, 3) AND job_instance_id IN (9000001)
--
-- A step is in a span [a, b) when it ran during it: start_time < b and its end >= a, where
-- the end of a step that has not ended is the time it was last fetched (it was still running
-- then). A step that never started (no start_time) is in no span. A step running across
-- SINCE is in both spans. Host rows follow their step. fetch_errors carry no step times: only
-- ${FILTER} applies to them.
--
-- DuckDB SQL (temporary tables). On Spark or Trino, create the same four tables with the
-- WHERE clauses below and point steps / step_hosts / fetch_errors at the window's ones.

CREATE OR REPLACE TEMP TABLE window_steps AS
SELECT *
FROM steps
WHERE start_time < CAST('${UNTIL}' AS TIMESTAMP WITH TIME ZONE)
  AND COALESCE(end_time, fetched_at, start_time) >= CAST('${SINCE}' AS TIMESTAMP WITH TIME ZONE)
  AND (${FILTER});

CREATE OR REPLACE TEMP TABLE before_steps AS
SELECT *
FROM steps
WHERE start_time < CAST('${SINCE}' AS TIMESTAMP WITH TIME ZONE)
  AND COALESCE(end_time, fetched_at, start_time) >= CAST('${BEFORE}' AS TIMESTAMP WITH TIME ZONE)
  AND (${FILTER});

CREATE OR REPLACE TEMP TABLE window_step_hosts AS
SELECT *
FROM step_hosts
WHERE step_instance_id IN (SELECT step_instance_id FROM window_steps);

CREATE OR REPLACE TEMP TABLE before_step_hosts AS
SELECT *
FROM step_hosts
WHERE step_instance_id IN (SELECT step_instance_id FROM before_steps);

CREATE OR REPLACE TEMP TABLE window_fetch_errors AS
SELECT *
FROM fetch_errors
WHERE (${FILTER});

CREATE OR REPLACE VIEW steps AS SELECT * FROM window_steps;

CREATE OR REPLACE VIEW step_hosts AS SELECT * FROM window_step_hosts;

CREATE OR REPLACE VIEW fetch_errors AS SELECT * FROM window_fetch_errors;
