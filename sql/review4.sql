-- Review 4: grants pinned to role OIDs, aggregates over relations with
-- row-level security, hostile numbers in inputs and options.
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_r4_app, regress_r4_a, regress_r4_b, regress_r4_c;
CREATE ROLE regress_r4_app LOGIN IN ROLE ml_consumer;
-- two analysts a policy shows different rows; a third that bypasses it
CREATE ROLE regress_r4_a LOGIN IN ROLE ml_analyst;
CREATE ROLE regress_r4_b LOGIN IN ROLE ml_analyst;
CREATE ROLE regress_r4_c LOGIN BYPASSRLS IN ROLE ml_analyst;
RESET client_min_messages;

CREATE TABLE r4_houses AS
SELECT i AS id, (i % 17)::float8 AS x1, (i % 5)::float8 AS x2,
       3 * (i % 17) + 2 * (i % 5) AS y
FROM generate_series(1, 60) i;
GRANT SELECT ON r4_houses TO ml_analyst, ml_consumer;
SET ROLE regress_alice;
SELECT ml_create_project('r4_p', 'r4_houses', 'y') > 0 AS created;
SELECT version FROM ml_train('r4_p', 'linear', options => '{"exclude": ["id"]}');
SELECT ml_mark_ready('r4_p', 1);
SET ROLE regress_eve;
SELECT ml_deploy('r4_p', 1);

-- 1. An exposure, a key and the usage belong to the role by OID.
SELECT ml_expose('r4_p', 'regress_r4_app', '{"rows_per_day": 1000}');
SELECT length(ml_create_api_key('regress_r4_app', 'r4')) > 0 AS key_made;
SELECT consumer, consumer_oid = 'regress_r4_app'::regrole AS pinned
FROM mlops.exposures WHERE consumer = 'regress_r4_app';
SELECT consumer, consumer_oid = 'regress_r4_app'::regrole AS pinned
FROM mlops.api_keys WHERE consumer = 'regress_r4_app';
SET ROLE regress_r4_app;
SELECT round(ml_predict('r4_p', '{"x1": 2, "x2": 1}'::jsonb)::numeric, 6) AS scored_through_exposure;
RESET ROLE;
INSERT INTO mlops.api_usage (project_id, consumer, consumer_oid, day, calls, rows)
SELECT id, 'regress_r4_app', 'regress_r4_app'::regrole, '2026-01-01', 7, 70
FROM mlops.projects WHERE name = 'r4_p';
SET ROLE regress_r4_app;
SELECT project, consumer, calls FROM ml_api_usage WHERE day = '2026-01-01';
SELECT project, consumer FROM ml_exposures;
RESET ROLE;

-- Dropped and re-created under the same name: another role, nothing of the old one's.
DROP ROLE regress_r4_app;
CREATE ROLE regress_r4_app LOGIN IN ROLE ml_consumer;
SET ROLE regress_r4_app;
SELECT regress_try($$SELECT ml_predict('r4_p', '{"x1": 2, "x2": 1}'::jsonb)$$);
SELECT count(*) AS usage_seen FROM ml_api_usage;
SELECT count(*) AS exposures_seen FROM ml_exposures;
SELECT count(*) AS published_seen FROM ml_published_reports;
RESET ROLE;
SELECT count(*) AS keys_acting_as_new_role
FROM mlops.api_keys k WHERE k.consumer_oid = 'regress_r4_app'::regrole;
-- engineers still see the old rows, by the name they were made for
SET ROLE regress_eve;
SELECT consumer FROM ml_exposures WHERE project = 'r4_p';
-- exposing the new role replaces the dead exposure of its name
SELECT ml_expose('r4_p', 'regress_r4_app');
SELECT count(*) AS exposures, bool_and(consumer_oid = 'regress_r4_app'::regrole) AS new_role
FROM mlops.exposures WHERE consumer = 'regress_r4_app';
SET ROLE regress_r4_app;
SELECT round(ml_predict('r4_p', '{"x1": 2, "x2": 1}'::jsonb)::numeric, 6) AS scored_again;
SELECT count(*) AS old_usage_seen FROM ml_api_usage WHERE day = '2026-01-01';
SET ROLE regress_eve;
SELECT ml_revoke_exposure('r4_p', 'regress_r4_app');
SELECT regress_try($$SELECT ml_revoke_exposure('r4_p', 'regress_r4_app')$$);

-- Projects' owners and members too: a re-created name reaches nothing.
RESET ROLE;
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_r4_own, regress_r4_mem;
CREATE ROLE regress_r4_own IN ROLE ml_analyst;
CREATE ROLE regress_r4_mem IN ROLE ml_analyst;
RESET client_min_messages;
SET ROLE regress_r4_own;
SELECT ml_create_project('r4_owned', 'r4_houses', 'y') > 0 AS created;
SELECT ml_add_member('r4_owned', 'regress_r4_mem');
SELECT ml_add_member('r4_owned', 'regress_r4_mem');
SET ROLE regress_r4_mem;
SELECT mlops.project_access(id) AS member_access FROM mlops.projects WHERE name = 'r4_owned';
RESET ROLE;
SELECT owner, owner_oid = 'regress_r4_own'::regrole AS owner_pinned,
       (SELECT bool_and(member_oid = 'regress_r4_mem'::regrole) FROM mlops.project_members m
        WHERE m.project_id = p.id) AS member_pinned
FROM mlops.projects p WHERE name = 'r4_owned';
DROP ROLE regress_r4_own, regress_r4_mem;
CREATE ROLE regress_r4_own IN ROLE ml_analyst;
CREATE ROLE regress_r4_mem IN ROLE ml_analyst;
SET ROLE regress_r4_own;
SELECT count(*) AS owner_sees FROM ml_projects WHERE name = 'r4_owned';
SELECT regress_try($$SELECT ml_drop_project('r4_owned')$$);
SET ROLE regress_r4_mem;
SELECT count(*) AS member_sees FROM ml_projects WHERE name = 'r4_owned';
-- an admin shares it with the new role: the dead membership of its name is replaced
SET ROLE regress_adam;
SELECT ml_add_member('r4_owned', 'regress_r4_mem');
SELECT count(*) AS memberships, bool_and(member_oid = 'regress_r4_mem'::regrole) AS new_role
FROM mlops.project_members m JOIN mlops.projects p ON p.id = m.project_id WHERE p.name = 'r4_owned';
SET ROLE regress_r4_mem;
SELECT mlops.project_access(id) AS new_member_access FROM mlops.projects WHERE name = 'r4_owned';
SET ROLE regress_adam;
SELECT ml_remove_member('r4_owned', 'regress_r4_mem');
SELECT ml_drop_project('r4_owned');
RESET ROLE;
DROP ROLE regress_r4_own, regress_r4_mem;
-- What a role made is its own by OID: recipes, keys, reports, jobs.
SET client_min_messages = warning;
CREATE ROLE regress_r4_maker IN ROLE ml_engineer;
RESET client_min_messages;
SET ROLE regress_r4_maker;
SELECT ml_schedule('r4_p', 'train', '@yearly', '{"name": "r4 nightly"}') > 0 AS scheduled;
SELECT length(ml_create_api_key('regress_carl', 'made by maker')) > 0 AS key_made;
RESET ROLE;
INSERT INTO mlops.recipes (kind, steps, created_by, created_by_oid)
VALUES ('impute', '[]', 'regress_r4_maker', 'regress_r4_maker'::regrole);
INSERT INTO mlops.reports (project_id, name, kind, version, content, created_by, created_by_oid)
SELECT id, 'r4', 'model', 99, '{}', 'regress_r4_maker', 'regress_r4_maker'::regrole
FROM mlops.projects WHERE name = 'r4_p';
SET ROLE regress_r4_maker;
SELECT (SELECT count(*) FROM ml_jobs WHERE name = 'r4 nightly') AS jobs,
       (SELECT count(*) FROM ml_api_keys WHERE label = 'made by maker') AS keys,
       (SELECT count(*) FROM mlops.recipes WHERE created_by = 'regress_r4_maker') AS recipes,
       (SELECT count(*) FROM mlops.reports WHERE created_by = 'regress_r4_maker') AS reports;
RESET ROLE;
DROP ROLE regress_r4_maker;
CREATE ROLE regress_r4_maker IN ROLE ml_analyst;
SET ROLE regress_r4_maker;
-- an analyst now: sees no project, so only the creator rule could show them
SELECT (SELECT count(*) FROM mlops.recipes WHERE created_by = 'regress_r4_maker') AS recipes,
       (SELECT count(*) FROM mlops.reports WHERE created_by = 'regress_r4_maker') AS reports;
RESET ROLE;
SELECT id AS r4_job FROM mlops.jobs WHERE name = 'r4 nightly' \gset
GRANT ml_engineer TO regress_r4_maker;
SET ROLE regress_r4_maker;
SELECT (SELECT count(*) FROM ml_jobs WHERE name = 'r4 nightly') AS jobs,
       (SELECT count(*) FROM ml_api_keys WHERE label = 'made by maker') AS keys;
SELECT regexp_replace(regress_try('SELECT ml_unschedule(' || :r4_job || ')'), 'job \d+', 'job N');
RESET ROLE;
SELECT ml_unschedule(id) FROM mlops.jobs WHERE name = 'r4 nightly';
DELETE FROM mlops.recipes WHERE created_by = 'regress_r4_maker';
DELETE FROM mlops.reports WHERE created_by = 'regress_r4_maker';
DELETE FROM mlops.api_keys WHERE label = 'made by maker';
DROP ROLE regress_r4_maker;
SET ROLE regress_eve;

-- 2. Numbers beyond double precision: a short error, not every digit.
SELECT regress_try($$SELECT ml_predict('r4_p', '{"x1": 1e400, "x2": 1}'::jsonb)$$);
SELECT regress_try($$SELECT ml_predict('r4_p', '{"x1": -1e400, "x2": 1}'::jsonb)$$);
SELECT regress_try($$SELECT ml_expose('r4_p', 'regress_carl', '{"rows_per_day": 1e400}')$$);
SELECT regress_try($$SELECT ml_report('r4_p', 'model', '{"sample_rows": 1e400}')$$);
RESET ROLE;

-- 3. Row-level security: a profile or report covers every row its builder
-- read; a reader whose policy shows fewer rows does not see it.
CREATE TABLE r4_secret AS
SELECT i AS id, CASE WHEN i % 2 = 0 THEN 'regress_r4_a' ELSE 'regress_r4_b' END AS seen_by,
       CASE WHEN i % 7 = 0 THEN NULL ELSE (i % 11)::float8 END AS amount,
       (i % 3)::float8 AS x, 2 * (i % 3) + (i % 11) AS y
FROM generate_series(1, 80) i;
ALTER TABLE r4_secret ENABLE ROW LEVEL SECURITY;
CREATE POLICY r4_own ON r4_secret FOR SELECT USING (seen_by = current_user);
GRANT SELECT ON r4_secret TO ml_analyst;
CREATE VIEW r4_secret_view AS SELECT * FROM r4_secret;
GRANT SELECT ON r4_secret_view TO ml_analyst;
SELECT mlops.rows_unrestricted('r4_secret'::regclass) AS owner_unrestricted;
SET ROLE regress_r4_a;
SELECT count(*) AS a_rows FROM r4_secret;
SELECT mlops.rows_unrestricted('r4_secret'::regclass) AS a_unrestricted,
       mlops.rows_unrestricted('r4_secret_view'::regclass) AS a_view_unrestricted,
       mlops.rows_unrestricted('r4_houses'::regclass) AS a_plain_unrestricted,
       mlops.rows_unrestricted(0) AS no_relation;
SELECT ml_create_project('r4_secret', 'r4_secret', 'y') > 0 AS created;
SELECT ml_add_member('r4_secret', 'regress_r4_b');
SELECT ml_add_member('r4_secret', 'regress_r4_c');
SELECT count(*) > 0 AS cleaned FROM ml_impute('r4_secret', ARRAY['amount'], 'mean', into_table => 'r4_secret_filled');
SELECT count(*) > 0 AS cleaned_view FROM ml_impute('r4_secret_view', ARRAY['amount'], 'mean', into_table => 'r4_view_filled');
SELECT version FROM ml_train('r4_secret', 'linear', options => '{"exclude": ["id", "seen_by", "amount"]}');
SELECT ml_report('r4_secret', 'model', '{"sample_rows": 20}') > 0 AS model_report;
SELECT ml_report('r4_secret', 'cleaning') > 0 AS cleaning_report;
-- the builder sees its own
SELECT relation, rows, missing FROM ml_data_quality WHERE column_name = 'amount' AND relation LIKE '%r4_secret%' ORDER BY relation;
SELECT kind FROM ml_reports WHERE project = 'r4_secret' ORDER BY kind;
SET ROLE regress_r4_b;
SELECT count(*) AS b_rows FROM r4_secret;
SELECT mlops.rows_unrestricted('r4_secret'::regclass) AS b_unrestricted;
-- another policy outcome: none of a's aggregates
SELECT count(*) AS b_profiles FROM ml_data_quality WHERE relation LIKE '%r4_secret%';
SELECT count(*) AS b_profile_rows FROM mlops.column_profiles WHERE relation_name LIKE 'r4_secret%';
SELECT kind FROM ml_reports WHERE project = 'r4_secret' ORDER BY kind;
SET ROLE regress_r4_c;
SELECT count(*) AS c_rows FROM r4_secret;
-- BYPASSRLS: every row, so the aggregates tell it nothing new
SELECT relation, rows, missing FROM ml_data_quality WHERE column_name = 'amount' AND relation LIKE '%r4_secret%' ORDER BY relation;
SELECT kind FROM ml_reports WHERE project = 'r4_secret' ORDER BY kind;
RESET ROLE;
-- row-level security switched off: the aggregates are readable again
ALTER TABLE r4_secret DISABLE ROW LEVEL SECURITY;
SET ROLE regress_r4_b;
SELECT relation, rows FROM ml_data_quality WHERE column_name = 'amount' AND relation = 'public.r4_secret';
SELECT kind FROM ml_reports WHERE project = 'r4_secret' ORDER BY kind;
RESET ROLE;

SET ROLE regress_r4_a;
SELECT ml_drop_project('r4_secret');
SET ROLE regress_eve;
SELECT ml_drop_project('r4_p', force => true);
RESET ROLE;
DROP TABLE r4_secret_filled, r4_view_filled;
DROP VIEW r4_secret_view;
DROP TABLE r4_secret, r4_houses;
DELETE FROM mlops.recipes WHERE created_by = 'regress_r4_a';
DELETE FROM mlops.api_keys WHERE consumer = 'regress_r4_app';
DROP ROLE regress_r4_app, regress_r4_a, regress_r4_b, regress_r4_c;
