-- Review 3: the scheduler's edges. Deterministic: the launcher does not
-- serve this database, so nothing runs (test/jobs_review3.sh runs jobs).
SET client_min_messages = warning;
SET ROLE regress_alice;
SELECT ml_create_project('r3_orders', 'orders', 'amount') > 0 AS created;
RESET ROLE;
GRANT SELECT ON orders TO ml_engineer;

SET ROLE regress_eve;
-- a step on a single number is refused ("5/10" is 5-59/10 in some crons,
-- an error in others); steps on * and on ranges still work
SELECT regress_try($$SELECT ml_schedule('r3_orders', 'train', '5/10 * * * *')$$);
SELECT regress_try($$SELECT ml_schedule('r3_orders', 'train', '0 1,2/3 * * *')$$);
SELECT mlops.schedule_next('5-59/10 * * * *', '2026-01-01 00:07:00+00') AS range_step,
       mlops.schedule_next('*/10 * * * *', '2026-01-01 00:07:00+00') AS star_step;
-- never due, huge and odd numbers: an error at once, the launcher never meets them
SELECT regress_try($$SELECT ml_schedule('r3_orders', 'train', '0 0 30 2 *')$$);
SELECT regress_try($$SELECT ml_schedule('r3_orders', 'train', '99999999999999999999 * * * *')$$);
SELECT regress_try($$SELECT ml_schedule('r3_orders', 'train', '1-5/99999 * * * *')$$);
SELECT regress_try($$SELECT ml_schedule('r3_orders', 'train', '1000000000 years')$$);
SELECT mlops.schedule_next('0 0 29 2 *', '2026-03-01 00:00:00+00') AS next_leap_day;

-- an admin who does not own a job may pause it, not change what it reads and writes
SELECT ml_schedule('r3_orders', 'score', '@yearly',
                   '{"name": "r3 score", "relation": "orders", "into_table": "r3_scored"}') > 0 AS scheduled;
SET ROLE regress_adam;
SELECT regexp_replace(regress_try($$SELECT ml_alter_job((SELECT id FROM ml_jobs WHERE name = 'r3 score'), '{"into_table": "r3_elsewhere"}')$$), 'job \d+', 'job N');
SELECT regexp_replace(regress_try($$SELECT ml_alter_job((SELECT id FROM ml_jobs WHERE name = 'r3 score'), '{"relation": "orders"}')$$), 'job \d+', 'job N');
SELECT ml_alter_job((SELECT id FROM ml_jobs WHERE name = 'r3 score'), '{"active": false, "retries": 1}');
SELECT name, active, retries, command FROM ml_jobs WHERE name = 'r3 score';
SET ROLE regress_eve;
SELECT ml_alter_job((SELECT id FROM ml_jobs WHERE name = 'r3 score'), '{"into_table": "r3_elsewhere"}');
SELECT command ->> 'into_table' AS into_table FROM ml_jobs WHERE name = 'r3 score';
SELECT ml_unschedule((SELECT id FROM ml_jobs WHERE name = 'r3 score'));
SET ROLE regress_alice;
SELECT ml_drop_project('r3_orders');
RESET ROLE;
