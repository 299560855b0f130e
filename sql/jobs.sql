-- The job API's argument errors and its rules. Deterministic: nothing here
-- runs, because the launcher does not serve this database (the jobs_*.sh
-- scenarios run jobs); scheduling says so with a WARNING.
SET client_min_messages = warning;
SET ROLE regress_alice;
SELECT ml_create_project('rj_orders', 'orders', 'amount') > 0 AS created;
RESET ROLE;
GRANT SELECT ON orders TO ml_engineer;
SET client_min_messages = notice;

SET ROLE regress_eve;
-- schedules
SELECT regress_try($$SELECT ml_schedule('rj_orders', 'train', '61 * * * *')$$);
SELECT regress_try($$SELECT ml_schedule('rj_orders', 'train', '* * * *')$$);
SELECT regress_try($$SELECT ml_schedule('rj_orders', 'train', '* * * * * *')$$);
SELECT regress_try($$SELECT ml_schedule('rj_orders', 'train', '5-1 * * * *')$$);
SELECT regress_try($$SELECT ml_schedule('rj_orders', 'train', '*/0 * * * *')$$);
SELECT regress_try($$SELECT ml_schedule('rj_orders', 'train', 'x * * * *')$$);
SELECT regress_try($$SELECT ml_schedule('rj_orders', 'train', '0 0 31 2 *')$$);
SELECT regress_try($$SELECT ml_schedule('rj_orders', 'train', '@often')$$);
SELECT regress_try($$SELECT ml_schedule('rj_orders', 'train', 'every day')$$);
SELECT regress_try($$SELECT ml_schedule('rj_orders', 'train', '0.5 seconds')$$);
SELECT regress_try($$SELECT ml_schedule('rj_orders', 'train', '-5 minutes')$$);
SELECT regress_try($$SELECT ml_schedule('rj_orders', 'train', '')$$);
-- kinds and projects
SELECT regress_try($$SELECT ml_schedule('rj_orders', 'predict', '@daily')$$);
SELECT regress_try($$SELECT ml_schedule('rj_orders', 'report', '@daily', '{"kind": "nope"}')$$);
SELECT regress_try($$SELECT ml_schedule('rj_orders', 'workflow', '@daily')$$);
SELECT regress_try($$SELECT ml_schedule('no_such_project', 'train', '@daily')$$);
SELECT regress_try($$SELECT ml_schedule(NULL, 'train', '@daily')$$);
SELECT regress_try($$SELECT ml_schedule('rj_orders', 'train', '@daily', NULL)$$);
-- options
SELECT regress_try($$SELECT ml_schedule('rj_orders', 'train', '@daily', '[1]')$$);
SELECT regress_try($$SELECT ml_schedule('rj_orders', 'train', '@daily', '{"retry": 1}')$$);
SELECT regress_try($$SELECT ml_schedule('rj_orders', 'train', '@daily', '{"retries": -1}')$$);
SELECT regress_try($$SELECT ml_schedule('rj_orders', 'train', '@daily', '{"retries": 1.5}')$$);
SELECT regress_try($$SELECT ml_schedule('rj_orders', 'train', '@daily', '{"retries": "2"}')$$);
SELECT regress_try($$SELECT ml_schedule('rj_orders', 'train', '@daily', '{"backoff": "soon"}')$$);
SELECT regress_try($$SELECT ml_schedule('rj_orders', 'train', '@daily', '{"backoff": "25 hours"}')$$);
SELECT regress_try($$SELECT ml_schedule('rj_orders', 'train', '@daily', '{"timeout": "1 mon"}')$$);
SELECT regress_try($$SELECT ml_schedule('rj_orders', 'train', '@daily', '{"timeout": "0 seconds"}')$$);
SELECT regress_try($$SELECT ml_schedule('rj_orders', 'train', '@daily', '{"statement_timeout": 5}')$$);
SELECT regress_try($$SELECT ml_schedule('rj_orders', 'train', '@daily', '{"hyperparams": [1]}')$$);
SELECT regress_try($$SELECT ml_schedule('rj_orders', 'train', '@daily', '{"relation": "orders"}')$$);
SELECT regress_try($$SELECT ml_schedule('rj_orders', 'score', '@daily', '{}')$$);
SELECT regress_try($$SELECT ml_schedule('rj_orders', 'score', '@daily', '{"relation": "no_such_table", "into_table": "x"}')$$);
SELECT regress_try($$SELECT ml_schedule('rj_orders', 'score', '@daily', '{"relation": "orders", "into_table": "no_schema.x"}')$$);
SELECT regress_try($$SELECT ml_schedule('rj_orders', 'score', '@daily', '{"relation": "orders", "into_table": "pg_temp.x"}')$$);
SELECT regress_try($$SELECT ml_schedule('rj_orders', 'score', '@daily', '{"relation": "orders", "into_table": "x", "mode": "merge"}')$$);
SELECT regress_try($$SELECT ml_schedule('rj_orders', 'clean', '@daily', '{"relation": "orders"}')$$);
SELECT regress_try($$SELECT ml_schedule('rj_orders', 'clean', '@daily', '{"relation": "orders", "recipe": "no such recipe"}')$$);
-- superusers own no job; analysts and consumers schedule nothing
RESET ROLE;
SELECT regress_try($$SELECT ml_schedule('rj_orders', 'train', '@daily')$$);
SET ROLE regress_alice;
SELECT regress_try($$SELECT ml_schedule('rj_orders', 'train', '@daily')$$);
SET ROLE regress_carl;
SELECT regress_try($$SELECT ml_schedule('rj_orders', 'train', '@daily')$$);
SELECT regress_try($$SELECT count(*) FROM ml_job_runs$$);

-- a job that is valid (it will not run here: the WARNING says why)
SET ROLE regress_eve;
SELECT ml_schedule('rj_orders', 'score', '*/15 6-18 * * 1-5',
                   '{"name": "rj nightly", "relation": "orders", "into_table": "rj_scored",
                     "mode": "replace", "retries": 2, "backoff": "1 minute", "timeout": "1 hour"}') > 0 AS scheduled;
SELECT regress_try($$SELECT ml_schedule('rj_orders', 'train', '@daily', '{"name": "rj nightly"}')$$);
SELECT name, project, kind, schedule, owner, active, command, retries, backoff, timeout, next_run_at IS NOT NULL AS due
FROM ml_jobs WHERE name = 'rj nightly';
SELECT ml_alter_job((SELECT id FROM ml_jobs WHERE name = 'rj nightly'), '{"active": false, "retries": 0}');
SELECT active, retries, next_run_at IS NULL AS paused FROM ml_jobs WHERE name = 'rj nightly';
SELECT regress_try($$SELECT ml_alter_job((SELECT id FROM ml_jobs WHERE name = 'rj nightly'), '{"schedule": "@never"}')$$);
SELECT regress_try($$SELECT ml_alter_job((SELECT id FROM ml_jobs WHERE name = 'rj nightly'), '{"algorithm": "gbdt"}')$$);
SELECT regress_try($$SELECT ml_alter_job((SELECT id FROM ml_jobs WHERE name = 'rj nightly'), '{"active": "yes"}')$$);
SELECT ml_alter_job((SELECT id FROM ml_jobs WHERE name = 'rj nightly'), '{"schedule": "@hourly", "active": true}');
SELECT schedule, active, next_run_at IS NOT NULL AS due FROM ml_jobs WHERE name = 'rj nightly';
-- runs: queued by hand, cancelled before they start
SELECT ml_run_now((SELECT id FROM ml_jobs WHERE name = 'rj nightly')) > 0 AS queued;
SELECT ml_cancel((SELECT max(run) FROM ml_job_runs WHERE job_name = 'rj nightly'));
SELECT ml_cancel((SELECT max(run) FROM ml_job_runs WHERE job_name = 'rj nightly'));
SELECT status, trigger, attempt, sqlstate, message FROM ml_job_runs WHERE job_name = 'rj nightly';
-- other roles: an analyst of the project may not run a score job; for
-- everyone else the job does not exist
SELECT id AS rj_job FROM ml_jobs WHERE name = 'rj nightly' \gset
SET ROLE regress_alice;
SELECT regexp_replace(regress_try('SELECT ml_run_now(' || :rj_job || ')'), 'job \d+', 'job N') AS regress_try;
SELECT regress_try('SELECT ml_cancel(1)');
SET ROLE regress_bob;
SELECT regress_try($$SELECT ml_run_now(9223372036854775807)$$);
SELECT regress_try($$SELECT ml_cancel(9223372036854775807)$$);
SET ROLE regress_eve;
SELECT regress_try($$SELECT ml_unschedule(9223372036854775807)$$);
SELECT regress_try($$SELECT ml_run_now(NULL)$$);
SELECT regress_try($$SELECT ml_alter_job(9223372036854775807, '{}')$$);
SELECT ml_unschedule((SELECT id FROM ml_jobs WHERE name = 'rj nightly'));
SELECT count(*) FROM ml_jobs WHERE name = 'rj nightly';

-- hostile identifiers: stored quoted and schema-qualified, never spliced
RESET ROLE;
CREATE SCHEMA "Job; DROP TABLE orders; --";
CREATE TABLE "Job; DROP TABLE orders; --"."Score ""Me""" AS SELECT * FROM orders;
GRANT USAGE ON SCHEMA "Job; DROP TABLE orders; --" TO ml_analyst, ml_engineer;
GRANT SELECT ON "Job; DROP TABLE orders; --"."Score ""Me""" TO ml_analyst, ml_engineer;
SET ROLE regress_alice;
SELECT ml_create_project($$j'); DROP TABLE orders; --$$, 'orders', 'amount') > 0 AS created;
SET ROLE regress_eve;
SELECT ml_schedule($$j'); DROP TABLE orders; --$$, 'score', '@daily',
                   '{"name": "Δ \"job\"; --", "relation": "\"Job; DROP TABLE orders; --\".\"Score \"\"Me\"\"\"",
                     "into_table": "\"Job; DROP TABLE orders; --\".\"Out \"\"put\"\"\""}') > 0 AS scheduled;
SELECT name, project, command->>'relation' AS relation, command->>'into_table' AS into_table
FROM ml_jobs WHERE project = $$j'); DROP TABLE orders; --$$;
SELECT ml_unschedule(id) FROM ml_jobs WHERE project = $$j'); DROP TABLE orders; --$$;
SET ROLE regress_alice;
SELECT ml_drop_project($$j'); DROP TABLE orders; --$$);
RESET ROLE;
DROP SCHEMA "Job; DROP TABLE orders; --" CASCADE;
SELECT count(*) AS orders_rows FROM orders;
SET ROLE regress_eve;

-- the next due time of a schedule (cron in UTC)
SELECT s, mlops.schedule_next(s, '2026-02-27 23:59:30+00') AT TIME ZONE 'UTC' AS next
FROM unnest(ARRAY['* * * * *', '*/15 * * * *', '0 3 * * *', '0 0 29 2 *', '0 12 * * 0',
                  '0 12 * * 7', '0 0 1,15 * 1', '30 8 * 1-3 *', '@hourly', '@daily', '@monthly',
                  '30 seconds', '5 minutes', '1 day']) s;
SET ROLE regress_alice;
SELECT ml_drop_project('rj_orders');
RESET ROLE;
