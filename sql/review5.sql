-- Review 5: the audit trail by role OID; model versions (metrics, training
-- profile, deployments, trials, drift) under row-level security on their
-- training relation; ml_score's reader against hostile tables.
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_r5_a, regress_r5_b, regress_r5_c, regress_r5_e, regress_r5_f;
CREATE ROLE regress_r5_a LOGIN IN ROLE ml_analyst;
CREATE ROLE regress_r5_b LOGIN IN ROLE ml_analyst;
CREATE ROLE regress_r5_c LOGIN BYPASSRLS IN ROLE ml_analyst;
CREATE ROLE regress_r5_e LOGIN BYPASSRLS IN ROLE ml_engineer;
CREATE ROLE regress_r5_f LOGIN IN ROLE ml_engineer;
RESET client_min_messages;

-- 1. The audit trail: a role sees its own entries by OID, not those of a
-- dropped role whose name it was given.
CREATE TABLE r5_houses AS
SELECT i AS id, (i % 17)::float8 AS x1, (i % 5)::float8 AS x2,
       3 * (i % 17) + 2 * (i % 5) AS y
FROM generate_series(1, 60) i;
GRANT SELECT ON r5_houses TO ml_analyst, ml_engineer;
SET ROLE regress_r5_a;
SELECT ml_create_project('r5_audit', 'r5_houses', 'y') > 0 AS created;
SELECT action, actor FROM ml_audit WHERE object_name = 'r5_audit' ORDER BY id;
RESET ROLE;
SELECT actor, actor_oid = 'regress_r5_a'::regrole AS pinned
FROM mlops.audit_log WHERE object_name = 'r5_audit';
SELECT ml_drop_project('r5_audit');
DROP ROLE regress_r5_a;
CREATE ROLE regress_r5_a LOGIN IN ROLE ml_analyst;
SET ROLE regress_r5_a;
-- the old role's create and the superuser's drop: none of them are its own
SELECT count(*) AS entries_seen FROM ml_audit WHERE object_name = 'r5_audit';
SELECT count(*) AS rows_seen FROM mlops.audit_log WHERE actor = 'regress_r5_a';
-- what it does now is its own
SELECT ml_create_project('r5_audit2', 'r5_houses', 'y') > 0 AS created;
SELECT action FROM ml_audit WHERE object_name = 'r5_audit2' ORDER BY id;
SELECT ml_drop_project('r5_audit2');
-- admins still see every entry
SET ROLE regress_adam;
SELECT count(*) >= 2 AS admin_sees FROM ml_audit WHERE object_name = 'r5_audit';
RESET ROLE;

-- 2. Model versions: their metrics, profile and payload are aggregates of
-- the rows their trainer read. A project member whose row-level security
-- shows other rows sees none of them; the trainer, and a role the policy
-- does not filter, do.
CREATE TABLE r5_secret AS
SELECT i AS id, CASE WHEN i % 2 = 0 THEN 'regress_r5_a' ELSE 'regress_r5_b' END AS seen_by,
       (i % 3)::float8 AS x, (i % 11)::float8 AS z, 2 * (i % 3) + (i % 11) AS y
FROM generate_series(1, 80) i;
ALTER TABLE r5_secret ENABLE ROW LEVEL SECURITY;
CREATE POLICY r5_own ON r5_secret FOR SELECT USING (seen_by = current_user);
GRANT SELECT ON r5_secret TO ml_analyst, ml_engineer;
SET ROLE regress_r5_a;
SELECT ml_create_project('r5_secret', 'r5_secret', 'y') > 0 AS created;
SELECT ml_add_member('r5_secret', 'regress_r5_b');
SELECT ml_add_member('r5_secret', 'regress_r5_c');
SELECT version FROM ml_train('r5_secret', 'linear', options => '{"exclude": ["id", "seen_by"]}');
SELECT ml_mark_ready('r5_secret', 1);
RESET ROLE;
SELECT created_by, created_by_oid = 'regress_r5_a'::regrole AS pinned
FROM mlops.models m JOIN mlops.projects p ON p.id = m.project_id WHERE p.name = 'r5_secret';
-- an engineer the policy filters sees none of it, though it may deploy it
-- by number (a deployment discloses no aggregate); one it does not filter
-- (BYPASSRLS) sees it
SET ROLE regress_r5_f;
SELECT mlops.rows_unrestricted('r5_secret'::regclass) AS f_unrestricted;
SELECT count(*) AS f_models FROM ml_models WHERE project = 'r5_secret';
SELECT regress_try($$SELECT ml_deploy('r5_secret', 1)$$);
SET ROLE regress_r5_e;
SELECT mlops.rows_unrestricted('r5_secret'::regclass) AS e_unrestricted;
SELECT ml_deploy('r5_secret', 1);
SET ROLE regress_r5_a;
SELECT ml_score('r5_secret', 'r5_secret', 'r5_scored') > 0 AS scored;
-- the trainer sees its version, its deployment and its drift
SET ROLE regress_r5_a;
SELECT version, metrics ? 'rmse' AS has_metrics, profile IS NOT NULL AS has_profile
FROM mlops.models m JOIN mlops.projects p ON p.id = m.project_id WHERE p.name = 'r5_secret';
SELECT version, status FROM ml_models WHERE project = 'r5_secret';
SELECT count(*) AS a_deployments FROM ml_deployments WHERE project = 'r5_secret';
SELECT count(*) > 0 AS a_sees_drift FROM ml_drift WHERE project = 'r5_secret';
SELECT count(*) > 0 AS a_checks_drift FROM ml_check_drift('r5_secret');
-- another member, other rows: no version, no metrics, no profile, no drift
SET ROLE regress_r5_b;
SELECT mlops.rows_unrestricted('r5_secret'::regclass) AS b_unrestricted;
SELECT count(*) AS b_model_rows FROM mlops.models m JOIN mlops.projects p ON p.id = m.project_id
WHERE p.name = 'r5_secret';
SELECT count(*) AS b_models FROM ml_models WHERE project = 'r5_secret';
SELECT count(*) AS b_leaderboard FROM ml_leaderboard WHERE project = 'r5_secret';
SELECT count(*) AS b_deployments FROM ml_deployments WHERE project = 'r5_secret';
SELECT count(*) AS b_deployment_rows FROM mlops.deployments d JOIN mlops.projects p ON p.id = d.project_id
WHERE p.name = 'r5_secret';
SELECT count(*) AS b_drift FROM ml_drift WHERE project = 'r5_secret';
SELECT regress_try($$SELECT * FROM ml_check_drift('r5_secret')$$);
-- the project itself stays visible, and scoring still works
SELECT name, models, deployed_version FROM ml_projects WHERE name = 'r5_secret';
SELECT ml_predict('r5_secret', '{"x": 1, "z": 2}'::jsonb) IS NOT NULL AS b_scores;
-- BYPASSRLS: every row, so the version tells it nothing new
SET ROLE regress_r5_c;
SELECT count(*) AS c_models FROM ml_models WHERE project = 'r5_secret';
SELECT count(*) > 0 AS c_sees_drift FROM ml_drift WHERE project = 'r5_secret';
RESET ROLE;
-- the project repointed at a relation without row-level security: the
-- model report still shows the version's stored metrics, so it stays hidden
-- with the version
CREATE TABLE r5_secret_copy AS SELECT * FROM r5_secret;
GRANT SELECT ON r5_secret_copy TO ml_analyst, ml_engineer;
SET ROLE regress_r5_a;
SELECT ml_report('r5_secret', 'model', '{"sample_rows": 20}') > 0 AS model_report;
SELECT ml_update_project('r5_secret', relation => 'r5_secret_copy');
SET ROLE regress_r5_b;
SELECT mlops.rows_unrestricted('r5_secret_copy'::regclass) AS b_copy_unrestricted;
SELECT count(*) AS b_model_reports FROM ml_reports WHERE project = 'r5_secret' AND kind = 'model';
SELECT count(*) AS b_report_rows FROM mlops.reports r JOIN mlops.projects p ON p.id = r.project_id
WHERE p.name = 'r5_secret';
SET ROLE regress_r5_a;
SELECT ml_update_project('r5_secret', relation => 'r5_secret');
RESET ROLE;
DROP TABLE r5_secret_copy;
-- row-level security switched off: the version is readable again
ALTER TABLE r5_secret DISABLE ROW LEVEL SECURITY;
SET ROLE regress_r5_b;
SELECT count(*) AS b_models_now FROM ml_models WHERE project = 'r5_secret';
SELECT count(*) > 0 AS b_drift_now FROM ml_check_drift('r5_secret');
RESET ROLE;
ALTER TABLE r5_secret ENABLE ROW LEVEL SECURITY;
DROP TABLE r5_scored;
SET ROLE regress_r5_e;
SELECT ml_drop_project('r5_secret', force => true);
RESET ROLE;

-- Row security written into a view (no policy anywhere): the view's rows
-- are the reader's, so its profiles are hidden as under a policy.
CREATE TABLE r5_plain AS SELECT * FROM r5_secret;
CREATE VIEW r5_mine AS SELECT * FROM r5_plain WHERE seen_by = current_user;
CREATE VIEW r5_mine2 AS SELECT * FROM r5_plain WHERE seen_by = "session_user"();
CREATE VIEW r5_allowed AS SELECT * FROM r5_plain
    WHERE has_table_privilege('r5_secret', 'UPDATE') OR id < 10;
CREATE FUNCTION r5_rows() RETURNS SETOF r5_plain LANGUAGE sql STABLE
    AS $$SELECT * FROM r5_plain$$;
CREATE VIEW r5_through_function AS SELECT * FROM r5_rows();
CREATE VIEW r5_open AS SELECT id, x, lower(seen_by) AS who, now() > '2000-01-01' AS late
    FROM r5_plain WHERE id > 0;
GRANT SELECT ON r5_plain, r5_mine, r5_mine2, r5_allowed, r5_through_function, r5_open TO ml_analyst;
SET ROLE regress_r5_a;
SELECT mlops.rows_unrestricted('r5_mine'::regclass) AS by_current_user,
       mlops.rows_unrestricted('r5_mine2'::regclass) AS by_session_user,
       mlops.rows_unrestricted('r5_allowed'::regclass) AS by_privilege,
       mlops.rows_unrestricted('r5_through_function'::regclass) AS by_function,
       mlops.rows_unrestricted('r5_open'::regclass) AS open_view,
       mlops.rows_unrestricted('r5_plain'::regclass) AS plain_table;
SELECT count(*) > 0 AS cleaned FROM ml_impute('r5_mine', ARRAY['z'], 'mean', into_table => 'r5_mine_filled');
SELECT count(*) AS a_profiles FROM ml_data_quality WHERE relation = 'public.r5_mine';
SET ROLE regress_r5_b;
SELECT count(*) AS b_profiles FROM ml_data_quality WHERE relation = 'public.r5_mine';
-- BYPASSRLS skips policies, not the view's own WHERE (such a role skips
-- the catalog's policies too, so it is not asked further here)
SET ROLE regress_r5_c;
SELECT mlops.rows_unrestricted('r5_mine'::regclass) AS c_by_current_user,
       mlops.rows_unrestricted('r5_open'::regclass) AS c_open_view;
RESET ROLE;
DROP TABLE r5_mine_filled;
DROP VIEW r5_mine, r5_mine2, r5_allowed, r5_through_function, r5_open;
DROP FUNCTION r5_rows();
DROP TABLE r5_plain;

-- 3. OIDs of nothing where a relation or role is expected: clear errors.
SET ROLE regress_alice;
SELECT ml_create_project('r5_oids', 'r5_houses', 'y') > 0 AS created;
SET ROLE regress_eve;
SELECT regress_try($$SELECT ml_schedule('r5_oids', 'score', '@yearly', '{"relation": "999999"}')$$);
SELECT regress_try($$SELECT ml_schedule('r5_oids', 'score', '@yearly', '{"relation": "-"}')$$);
SELECT regress_try($$SELECT ml_schedule('r5_oids', 'clean', '@yearly', '{"relation": "0", "recipe": 1}')$$);
SELECT regress_try($$SELECT ml_score('r5_oids', 999999, 'r5_o_none')$$);
SELECT regress_try($$SELECT ml_evaluate('r5_oids', 1, 999999)$$);
SELECT regress_try($$SELECT ml_expose('r5_oids', 0)$$);
SELECT regress_try($$SELECT ml_create_api_key(999999)$$);
SET ROLE regress_alice;
SELECT regress_try($$SELECT ml_update_project('r5_oids', relation => 999999)$$);
SELECT regress_try($$SELECT ml_create_project('r5_oids2', 0, 'y')$$);
SELECT ml_drop_project('r5_oids');
SELECT regress_try($$SELECT ml_impute(999999, ARRAY['x'], 'mean')$$);
SELECT regress_try($$SELECT ml_clean(0)$$);
SELECT regress_try($$SELECT ml_apply_recipe(1, 999999)$$);
SELECT regress_try($$SELECT ml_add_member('r5_nothing', 0)$$);
RESET ROLE;

-- 4. MICE beside columns the forest fills (found by fuzz_clean seed 23):
-- its later rounds refitted a column with the last column's method (the
-- forest's) and by the wrong index, and wrote a forest step without one.
CREATE TABLE r5_mice AS
SELECT CASE WHEN (i * 37 + 21) % 100 < 10 THEN NULL ELSE (((i * 3 + 51) % 100) / 10.0)::numeric(3,1) END AS g,
       CASE WHEN (i * 11 + 65) % 100 < 90 THEN NULL ELSE 'same' END AS z,
       CASE WHEN (i * 61 + 75) % 100 < 40 THEN NULL ELSE (ARRAY['a', 'b', 'c', 'd'])[((i * 7 + 57) % 4) + 1] END AS t,
       CASE WHEN (i * 37 + 24) % 100 < 5 THEN NULL ELSE (((i * 1 + 7) % 10000) / 3.0)::numeric(7,2) END AS y,
       (((i * 13 + 63) % 7) - 3) * 1e300::float8 AS x
FROM generate_series(1, 5) i;
SELECT column_name, method FROM ml_impute('r5_mice', method => 'mice',
    options => '{"exclude_features": ["g"], "methods": {"t": "classifier", "z": "forest"}}'::jsonb,
    into_table => 'r5_mice_fit') ORDER BY column_name;
CREATE TABLE r5_mice2 AS
SELECT CASE WHEN i % 4 = 0 THEN NULL ELSE (i % 7)::float8 END AS a,
       CASE WHEN i % 5 = 0 THEN NULL ELSE (i % 3)::float8 * 2 END AS b,
       CASE WHEN i % 6 = 0 THEN NULL ELSE (ARRAY['p', 'q'])[(i % 2) + 1] END AS c,
       CASE WHEN i % 3 = 0 THEN NULL ELSE (i % 11)::float8 END AS d
FROM generate_series(1, 80) i;
SELECT column_name, method FROM ml_impute('r5_mice2', method => 'mice',
    options => '{"methods": {"b": "forest", "c": "forest"}}'::jsonb,
    into_table => 'r5_mice2_fit') ORDER BY column_name;
SELECT count(*) FILTER (WHERE a IS NULL OR b IS NULL OR c IS NULL OR d IS NULL) AS gaps_left FROM r5_mice2_fit;
DROP TABLE r5_mice, r5_mice_fit, r5_mice2, r5_mice2_fit;

-- 5. ml_score's reader against tables changed after the deployment.
CREATE TABLE r5_t AS
SELECT g AS id, (g % 37)::float8 AS x, CASE WHEN g % 3 = 0 THEN 'red' WHEN g % 3 = 1 THEN 'green' ELSE 'blue' END AS c,
       ((g % 37) + CASE WHEN g % 3 = 0 THEN 5 ELSE 0 END)::float8 AS y
FROM generate_series(1, 600) g;
GRANT SELECT ON r5_t TO ml_analyst, ml_engineer;
SET ROLE regress_r5_a;
SELECT ml_create_project('r5_trees', 'r5_t', 'y') > 0 AS created;
SELECT version FROM ml_train('r5_trees', 'gbdt', '{"n_estimators": 20, "max_depth": 3}',
                             options => '{"exclude": ["id"]}');
SELECT ml_mark_ready('r5_trees', 1);
SET ROLE regress_r5_e;
SELECT ml_deploy('r5_trees', 1);
RESET ROLE;
-- non-finite and missing numbers, unseen and TOASTed (compressed, external) levels
CREATE TABLE r5_odd (id int, x float8, c text, y float8);
ALTER TABLE r5_odd ALTER COLUMN c SET STORAGE EXTERNAL;
INSERT INTO r5_odd VALUES
    (1, 'NaN', 'red', 0), (2, 'Infinity', 'green', 0), (3, '-Infinity', 'blue', 0),
    (4, NULL, NULL, 0), (5, 1e308, 'purple', 0), (6, -1e308, '', 0),
    (7, 3, repeat('red', 3000), 0), (8, 4, 'red', 0);
INSERT INTO r5_odd SELECT 100 + g, g % 37, repeat(md5(g::text), 200), 0 FROM generate_series(1, 20) g;
GRANT SELECT ON r5_odd TO ml_analyst;
SET ROLE regress_r5_a;
SELECT ml_score('r5_trees', 'r5_odd', 'r5_o_odd');
SELECT count(*) AS rows,
       count(*) FILTER (WHERE o.prediction IS DISTINCT FROM ml_predict('r5_trees', s)) AS differ,
       count(*) FILTER (WHERE NOT (o.prediction > -1e300 AND o.prediction < 1e300)) AS non_finite,
       count(*) FILTER (WHERE o.c IS DISTINCT FROM s.c) AS changed_text
FROM r5_o_odd o JOIN r5_odd s USING (id);
RESET ROLE;
-- a column retyped since the deployment: the binding's clear error
CREATE TABLE r5_retyped AS SELECT * FROM r5_t;
ALTER TABLE r5_retyped ALTER COLUMN x TYPE text;
GRANT SELECT ON r5_retyped TO ml_analyst;
-- a column dropped since the deployment
CREATE TABLE r5_gone AS SELECT * FROM r5_t;
ALTER TABLE r5_gone DROP COLUMN c;
GRANT SELECT ON r5_gone TO ml_analyst;
-- row-level security enabled after the deployment, for the reader only
CREATE TABLE r5_late AS SELECT * FROM r5_t;
GRANT SELECT ON r5_late TO ml_analyst;
ALTER TABLE r5_late ENABLE ROW LEVEL SECURITY;
CREATE POLICY r5_few ON r5_late FOR SELECT TO ml_analyst USING (id <= 10);
-- a security-barrier view with a filter, and a table with a rule
CREATE VIEW r5_barrier WITH (security_barrier) AS SELECT * FROM r5_t WHERE id % 2 = 0;
GRANT SELECT ON r5_barrier TO ml_analyst;
CREATE TABLE r5_ruled AS SELECT * FROM r5_t;
CREATE RULE r5_no_delete AS ON DELETE TO r5_ruled DO INSTEAD NOTHING;
GRANT SELECT ON r5_ruled TO ml_analyst;
SET ROLE regress_r5_a;
SELECT regress_try($$SELECT ml_score('r5_trees', 'r5_retyped', 'r5_o_retyped')$$);
SELECT regress_try($$SELECT ml_score('r5_trees', 'r5_gone', 'r5_o_gone')$$);
SELECT ml_score('r5_trees', 'r5_late', 'r5_o_late');
SELECT count(*) AS rows, max(id) AS max_id FROM r5_o_late;
SELECT ml_score('r5_trees', 'r5_barrier', 'r5_o_barrier');
SELECT ml_score('r5_trees', 'r5_ruled', 'r5_o_ruled');
SELECT count(*) FILTER (WHERE o.prediction IS DISTINCT FROM ml_predict('r5_trees', s)) AS differ
FROM (SELECT * FROM r5_o_barrier UNION ALL SELECT * FROM r5_o_ruled) o JOIN r5_t s USING (id);
-- a temporary table of its own; a hostile output name
CREATE TEMP TABLE r5_tmp AS SELECT * FROM r5_t WHERE id <= 50;
SELECT ml_score('r5_trees', 'r5_tmp', 'pg_temp."r5 o; DROP TABLE r5_t; --"');
SELECT count(*) AS temp_rows FROM pg_temp."r5 o; DROP TABLE r5_t; --";
-- block sizes of one row, on the pipeline
SET pg_mlops.score_block_rows = 1;
SELECT ml_score('r5_trees', 'r5_odd', 'r5_o_odd1');
RESET pg_mlops.score_block_rows;
SELECT count(*) AS differ FROM r5_o_odd1 a JOIN r5_o_odd b USING (id)
WHERE a.prediction IS DISTINCT FROM b.prediction;
RESET ROLE;
-- blocks of one row keep no job per row in the call's memory (each block
-- left about 800 bytes until the end of the call: 15 MB over these rows);
-- a view reports the backend's memory as each row is read
CREATE TABLE r5_many AS SELECT g AS id, (g % 37)::float8 AS x, 'red'::text AS c, 0::float8 AS y
FROM generate_series(1, 20000) g;
CREATE FUNCTION r5_mem() RETURNS bigint LANGUAGE sql VOLATILE
    AS $$SELECT sum(total_bytes)::bigint FROM pg_catalog.pg_backend_memory_contexts$$;
CREATE VIEW r5_many_mem AS SELECT m.*, r5_mem() AS mem FROM r5_many m;
SET pg_mlops.score_block_rows = 1;
SELECT ml_score('r5_trees', 'r5_many_mem', 'r5_o_many');
RESET pg_mlops.score_block_rows;
SELECT max(mem) FILTER (WHERE id > 19900) - min(mem) FILTER (WHERE id BETWEEN 1000 AND 1100)
       < 1024 * 1024 AS memory_flat
FROM r5_o_many;
DROP TABLE r5_o_many;
DROP VIEW r5_many_mem;
DROP FUNCTION r5_mem();
DROP TABLE r5_many;
-- an error in the middle of the pipeline, while a block's trees run on
-- their threads: a quota reached at the third block, then timestamps past
-- any calendar in a later block
CREATE TABLE r5_big AS
SELECT g AS id, (g % 37)::float8 AS x, CASE WHEN g % 3 = 0 THEN 'red' ELSE 'blue' END AS c, 0::float8 AS y
FROM generate_series(1, 30000) g;
GRANT SELECT ON r5_big TO ml_consumer;
SET client_min_messages = warning;
CREATE ROLE regress_r5_app LOGIN IN ROLE ml_consumer;
RESET client_min_messages;
SET ROLE regress_r5_e;
SELECT ml_expose('r5_trees', 'regress_r5_app', '{"rows_per_day": 10000}');
SET ROLE regress_r5_app;
SET pg_mlops.score_block_rows = 4096;
SELECT regexp_replace(regress_try($$SELECT ml_score('r5_trees', 'r5_big', 'pg_temp.r5_o_big')$$),
                      'resets at .*', 'resets at ...') AS quota_mid_pipeline;
SELECT ml_predict('r5_trees', '{"x": 3, "c": "red"}'::jsonb) IS NOT NULL AS still_scores;
RESET pg_mlops.score_block_rows;
SET ROLE regress_r5_e;
SELECT ml_revoke_exposure('r5_trees', 'regress_r5_app');
RESET ROLE;
DROP TABLE r5_big;
DROP ROLE regress_r5_app;
CREATE TABLE r5_when AS
SELECT g AS id, timestamp '2026-01-01' + g * interval '37 minutes' AS at, (g % 24)::float8 AS y
FROM generate_series(1, 3000) g;
GRANT SELECT ON r5_when TO ml_analyst;
SET ROLE regress_r5_a;
SELECT ml_create_project('r5_when', 'r5_when', 'y') > 0 AS created;
SELECT version FROM ml_train('r5_when', 'gbdt', '{"n_estimators": 10}', options => '{"exclude": ["id"]}');
RESET ROLE;
CREATE TABLE r5_when_odd AS SELECT id, at, y FROM r5_when;
UPDATE r5_when_odd SET at = 'infinity' WHERE id = 2500;
UPDATE r5_when_odd SET at = '-infinity' WHERE id = 2600;
UPDATE r5_when_odd SET at = NULL WHERE id = 2700;
UPDATE r5_when_odd SET at = '294276-12-31 23:59:59' WHERE id = 2800;
UPDATE r5_when_odd SET at = '4713-11-24 00:00:00 BC' WHERE id = 2900;
GRANT SELECT ON r5_when_odd TO ml_analyst;
SET ROLE regress_r5_a;
SELECT ml_mark_ready('r5_when', 1);
SET ROLE regress_r5_e;
SELECT ml_deploy('r5_when', 1);
SET ROLE regress_r5_a;
SET pg_mlops.score_block_rows = 1000;
SELECT ml_score('r5_when', 'r5_when_odd', 'r5_o_when');
RESET pg_mlops.score_block_rows;
SELECT count(*) AS rows,
       count(*) FILTER (WHERE o.prediction IS DISTINCT FROM ml_predict('r5_when', s)) AS differ,
       count(*) FILTER (WHERE o.prediction IS NULL OR o.prediction <> o.prediction) AS not_scored
FROM r5_o_when o JOIN r5_when_odd s USING (id);
DROP TABLE r5_o_when;
SET ROLE regress_r5_e;
SELECT ml_drop_project('r5_when', force => true);
RESET ROLE;
DROP TABLE r5_when, r5_when_odd;

DROP TABLE r5_o_odd, r5_o_odd1, r5_o_late, r5_o_barrier, r5_o_ruled;
DROP VIEW r5_barrier;
DROP TABLE r5_odd, r5_retyped, r5_gone, r5_late, r5_ruled;
SET ROLE regress_r5_e;
SELECT ml_drop_project('r5_trees', force => true);
RESET ROLE;
DROP TABLE r5_t, r5_secret, r5_houses;
DELETE FROM mlops.recipes WHERE created_by LIKE 'regress_r5_%';
DROP TABLE r5_tmp, pg_temp."r5 o; DROP TABLE r5_t; --";
DROP ROLE regress_r5_a, regress_r5_b, regress_r5_c, regress_r5_e, regress_r5_f;
