-- API management: exposures of a project's deployed model to consumer
-- roles, scoring through them (and only the deployed version), metering,
-- the daily row quota at its boundary, revocation. The rate limit is in
-- test/api_rate.sh, restarts in test/api_restart.sh.
CREATE TABLE api_houses AS
SELECT i AS id, (i % 17)::float8 AS x1, (i % 5)::float8 AS x2,
       3 * (i % 17) + 2 * (i % 5) AS y
FROM generate_series(1, 60) i;
GRANT SELECT ON api_houses TO ml_analyst, regress_carl;
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_dora, regress_app;
CREATE ROLE regress_dora LOGIN IN ROLE ml_consumer;     -- a consumer without exposure
CREATE ROLE regress_app LOGIN IN ROLE regress_carl;     -- an application logging in as carl's member
RESET client_min_messages;
GRANT CREATE ON SCHEMA public TO regress_carl;
-- the reset time in quota messages changes every day
CREATE FUNCTION api_try(cmd text) RETURNS text LANGUAGE sql AS $$
    SELECT regexp_replace(regress_try(cmd), '\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC', '<next UTC midnight>')
$$;

SET ROLE regress_alice;
SELECT ml_create_project('api_p', 'api_houses', 'y') > 0 AS created;
SELECT version FROM ml_train('api_p', 'linear', options => '{"exclude": ["id"]}');
SELECT ml_mark_ready('api_p', 1);
SELECT ml_create_project('api_hidden', 'api_houses', 'y') > 0 AS created;
SET ROLE regress_eve;
SELECT ml_deploy('api_p', 1);

-- Without an exposure a consumer cannot tell a hidden project from none.
SET ROLE regress_carl;
SELECT api_try($$SELECT ml_predict('api_p', h) FROM api_houses h LIMIT 1$$);
SELECT api_try($$SELECT ml_predict('no_such_project', '{"x1": 1}'::jsonb)$$);
SELECT api_try($$SELECT ml_expose('api_p', 'regress_carl')$$);
SELECT api_try($$SELECT count(*) FROM mlops.projects$$);

-- Only engineers and admins expose; the consumer must be in ml_consumer.
SET ROLE regress_alice;
SELECT api_try($$SELECT ml_expose('api_p', 'regress_carl')$$);
SET ROLE regress_eve;
SELECT api_try($$SELECT ml_expose('api_p', 'regress_nobody')$$);
SELECT api_try($$SELECT ml_expose('api_p', 'regress_alice')$$);
SELECT api_try($$SELECT ml_expose('no_such_project', 'regress_carl')$$);
SELECT api_try($$SELECT ml_expose(NULL, 'regress_carl')$$);
SELECT api_try($$SELECT ml_expose('api_p', NULL)$$);
-- options: positive whole numbers, unknown keys refused with the valid ones
SELECT api_try($$SELECT ml_expose('api_p', 'regress_carl', '{"rows_per_dya": 10}')$$);
SELECT api_try($$SELECT ml_expose('api_p', 'regress_carl', '{"rows_per_day": 0}')$$);
SELECT api_try($$SELECT ml_expose('api_p', 'regress_carl', '{"rows_per_day": -5}')$$);
SELECT api_try($$SELECT ml_expose('api_p', 'regress_carl', '{"rows_per_day": 2.5}')$$);
SELECT api_try($$SELECT ml_expose('api_p', 'regress_carl', '{"rows_per_day": "10"}')$$);
SELECT api_try($$SELECT ml_expose('api_p', 'regress_carl', '{"rows_per_day": 1e16}')$$);
SELECT api_try($$SELECT ml_expose('api_p', 'regress_carl', '{"calls_per_second": true}')$$);
SELECT api_try($$SELECT ml_expose('api_p', 'regress_carl', '[1, 2]')$$);
SELECT count(*) AS exposures FROM mlops.exposures;

SELECT ml_expose('api_p', 'regress_carl', '{"rows_per_day": 10}');
SELECT project, consumer, rows_per_day, calls_per_second, created_by FROM ml_exposures;

-- The consumer scores the deployed version, and nothing else.
SET ROLE regress_carl;
SELECT round(ml_predict('api_p', h)::numeric, 3) AS prediction
FROM api_houses h WHERE id <= 3 ORDER BY id;
SELECT round(ml_predict('api_p', '{"x1": 2, "x2": 1}'::jsonb)::numeric, 3) AS prediction;
SELECT api_try($$SELECT mlops.score_value('api_p', 1, h) FROM api_houses h LIMIT 1$$);
SELECT api_try($$SELECT ml_evaluate('api_p', 1, 'api_houses')$$);
SELECT api_try($$SELECT ml_predict('api_hidden', h) FROM api_houses h LIMIT 1$$);
SELECT api_try($$SELECT count(*) FROM mlops.models$$);
SELECT api_try($$SELECT count(*) FROM ml_models$$);
SELECT api_try($$SELECT ml_deploy('api_p', 1)$$);
SELECT project, consumer, rows_per_day FROM ml_exposures;

-- The row quota, exactly: 4 rows so far, 6 more in two statements, then no 11th.
SELECT count(ml_predict('api_p', h)) FROM api_houses h WHERE id <= 5;
SELECT count(ml_predict('api_p', h)) FROM api_houses h WHERE id <= 1;
SELECT api_try($$SELECT ml_predict('api_p', '{"x1": 1, "x2": 0}'::jsonb)$$);
SELECT api_try($$SELECT count(ml_predict('api_p', h)) FROM api_houses h$$);
-- an application logging in as a member of the consumer shares its quota
SET ROLE regress_app;
SELECT api_try($$SELECT ml_predict('api_p', '{"x1": 1, "x2": 0}'::jsonb)$$);
-- a consumer without exposure still sees nothing
SET ROLE regress_dora;
SELECT api_try($$SELECT ml_predict('api_p', '{"x1": 1, "x2": 0}'::jsonb)$$);
SELECT count(*) AS exposures_seen FROM ml_exposures;
SELECT count(*) AS usage_seen FROM ml_api_usage;

-- a bad row is an error of the call, and charges nothing
SET ROLE regress_carl;
SELECT api_try($$SELECT ml_predict('api_p', '{"x1": 1}'::jsonb)$$);
-- Usage: calls are statements (errors included), rows the values handed out.
SET ROLE regress_carl;
SELECT consumer, project, day = (now() AT TIME ZONE 'UTC')::date AS today, calls, rows, errors,
       latency_p50_ms > 0 AS p50, latency_p95_ms >= latency_p50_ms AS p95,
       latency_p99_ms >= latency_p95_ms AS p99
FROM ml_api_usage;
SELECT pg_typeof(calls) AS calls, pg_typeof(rows) AS rows, pg_typeof(errors) AS errors,
       pg_typeof(latency_p95_ms) AS latency, pg_typeof(day) AS day
FROM ml_api_usage;

-- Re-exposing changes the limits (2 more rows today), and is audited.
SET ROLE regress_eve;
SELECT ml_expose('api_p', 'regress_carl', '{"rows_per_day": 12, "calls_per_second": 1000}');
SELECT project, consumer, rows_per_day, calls_per_second, updated_at >= created_at AS updated FROM ml_exposures;
SET ROLE regress_carl;
SELECT count(ml_predict('api_p', h)) FROM api_houses h WHERE id <= 2;
SELECT api_try($$SELECT ml_predict('api_p', '{"x1": 1, "x2": 0}'::jsonb)$$);
-- no limit: ml_score through the exposure, its rows metered
SET ROLE regress_eve;
SELECT ml_expose('api_p', 'regress_carl');
SET ROLE regress_carl;
SELECT ml_score('api_p', 'api_houses', 'api_scored') AS scored;
SELECT count(*), min(model_version) FROM api_scored;
SELECT calls, rows, errors FROM ml_api_usage;
-- under a large quota a statement reserves rows ahead; those it did not hand out go back
SET ROLE regress_eve;
SELECT ml_expose('api_p', 'regress_carl', '{"rows_per_day": 1000000}');
SET ROLE regress_carl;
SELECT count(ml_predict('api_p', h)) FROM api_houses h WHERE id <= 7;
SELECT calls, rows FROM ml_api_usage;
-- the quota holds for ml_score too: a block that does not fit is refused whole
SET ROLE regress_eve;
SELECT ml_expose('api_p', 'regress_carl', '{"rows_per_day": 100}');
SET ROLE regress_carl;
SELECT api_try($$SELECT ml_score('api_p', 'api_houses', 'api_scored2')$$);
SELECT to_regclass('api_scored2') AS not_created, rows FROM ml_api_usage;

-- What analysts see: their projects' exposures and usage, no others'.
SET ROLE regress_alice;
SELECT project, consumer FROM ml_exposures;
SELECT consumer, project, calls FROM ml_api_usage;
SET ROLE regress_bob;
SELECT count(*) AS exposures_seen FROM ml_exposures;
SELECT count(*) AS usage_seen FROM ml_api_usage;
SET ROLE regress_adam;
SELECT project, consumer, rows_per_day FROM ml_exposures;

-- mlops.project_exposed answers for the caller only.
RESET ROLE;
SELECT id AS p_id FROM mlops.projects WHERE name = 'api_p' \gset
SELECT id AS h_id FROM mlops.projects WHERE name = 'api_hidden' \gset
SET ROLE regress_carl;
SELECT mlops.project_exposed(:p_id) AS carl_p, mlops.project_exposed(:h_id) AS carl_hidden,
       mlops.project_exposed(-1) AS carl_none;
SET ROLE regress_app;
SELECT mlops.project_exposed(:p_id) AS app_p;
SET ROLE regress_dora;
SELECT mlops.project_exposed(:p_id) AS dora_p;
SET ROLE regress_nobody;
SELECT api_try($$SELECT mlops.project_exposed(1)$$);
SELECT api_try($$SELECT * FROM ml_exposures$$);

-- Revocation: effective at the next statement, audited; twice is an error.
SET ROLE regress_carl;
SELECT count(ml_predict('api_p', h)) FROM api_houses h WHERE id <= 1;
SET ROLE regress_eve;
SELECT ml_revoke_exposure('api_p', 'regress_carl');
SELECT api_try($$SELECT ml_revoke_exposure('api_p', 'regress_carl')$$);
SELECT api_try($$SELECT ml_revoke_exposure('api_p', 'regress_nobody')$$);
SET ROLE regress_alice;
SELECT api_try($$SELECT ml_revoke_exposure('api_p', 'regress_carl')$$);
SET ROLE regress_carl;
SELECT api_try($$SELECT ml_predict('api_p', '{"x1": 1, "x2": 0}'::jsonb)$$);
SELECT count(*) AS exposures_seen FROM ml_exposures;
-- the usage stays, for the engineers
SET ROLE regress_eve;
SELECT consumer, project, rows FROM ml_api_usage;
RESET ROLE;
SELECT actor, action, object_name, details FROM mlops.audit_log
WHERE action IN ('expose', 'update_exposure', 'revoke_exposure') AND object_name = 'api_p' ORDER BY id;

-- Dropping the project drops its exposures.
SET ROLE regress_eve;
SELECT ml_expose('api_p', 'regress_carl');
SELECT ml_drop_project('api_p', force => true);
SET ROLE regress_alice;
SELECT ml_drop_project('api_hidden');
SELECT count(*) AS exposures FROM mlops.exposures;
RESET ROLE;
DROP TABLE api_scored;
REVOKE CREATE ON SCHEMA public FROM regress_carl;
DROP FUNCTION api_try(text);
DROP ROLE regress_dora, regress_app;

-- Hostile identifiers (as in sql/hostile_names.sql, here so its project ids stay
-- as they were): project and consumer names stored and matched exactly.
SET client_min_messages = warning;
DROP ROLE IF EXISTS "Robert'); DROP ROLE regress_eve;--", "consumer ""Δ"" app";
CREATE ROLE "Robert'); DROP ROLE regress_eve;--" IN ROLE ml_consumer;
CREATE ROLE "consumer ""Δ"" app" IN ROLE ml_consumer;
RESET client_min_messages;
CREATE TABLE expo_rows AS SELECT g::float8 AS "x'); --", 2.0 * g + g % 3 AS "Amount ""$""" FROM generate_series(1, 30) g;
GRANT SELECT ON expo_rows TO ml_analyst, "Robert'); DROP ROLE regress_eve;--";
SET ROLE regress_alice;
SELECT ml_create_project('expo''); DROP TABLE orders; --', 'expo_rows', 'Amount "$"') > 0 AS created;
SELECT version FROM ml_train('expo''); DROP TABLE orders; --', 'linear');
SELECT ml_mark_ready('expo''); DROP TABLE orders; --', 1);
SET ROLE regress_eve;
SELECT ml_deploy('expo''); DROP TABLE orders; --', 1);
SELECT ml_expose('expo''); DROP TABLE orders; --', '"Robert''); DROP ROLE regress_eve;--"', '{"rows_per_day": 3}');
SELECT ml_expose('expo''); DROP TABLE orders; --', '"consumer ""Δ"" app"');
SELECT project, consumer, rows_per_day FROM ml_exposures ORDER BY consumer COLLATE "C";
SET ROLE "Robert'); DROP ROLE regress_eve;--";
SELECT count(ml_predict('expo''); DROP TABLE orders; --', r)) AS scored FROM expo_rows r WHERE "x'); --" <= 3;
SELECT regexp_replace(regress_try($$SELECT ml_predict('expo''); DROP TABLE orders; --', '{"x''); --": 1}'::jsonb)$$),
                      '\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC', '<next UTC midnight>') AS over_quota;
SELECT consumer, project, calls, rows, errors FROM ml_api_usage;
SET ROLE "consumer ""Δ"" app";
SELECT round(ml_predict('expo''); DROP TABLE orders; --', '{"x''); --": 1}'::jsonb)::numeric, 1) AS prediction;
SELECT consumer, rows FROM ml_api_usage;
SET ROLE regress_eve;
SELECT ml_revoke_exposure('expo''); DROP TABLE orders; --', '"Robert''); DROP ROLE regress_eve;--"');
SELECT project, consumer FROM ml_exposures;
SELECT ml_drop_project('expo''); DROP TABLE orders; --', true);
RESET ROLE;
SELECT count(*) AS orders_rows, (SELECT count(*) FROM pg_roles WHERE rolname = 'regress_eve') AS eve
FROM orders;
DROP TABLE expo_rows;
DROP ROLE "Robert'); DROP ROLE regress_eve;--", "consumer ""Δ"" app";
