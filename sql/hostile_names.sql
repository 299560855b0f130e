-- Hostile and unusual identifiers: quotes, semicolons, mixed case, schema
-- qualification, maximum length, non-ASCII. Nothing is injected and every
-- name is stored exactly as given.
RESET ROLE;
CREATE SCHEMA "Sales; DROP TABLE orders; --";
CREATE TABLE "Sales; DROP TABLE orders; --"."Order ""Lines""" (
    "Amount ""$""" numeric,
    "Robert'); DROP TABLE orders;--" text,
    "ÉtiquetteΔ" text,
    "MixedCase" integer
);
CREATE TABLE "x123456789012345678901234567890123456789012345678901234567890abc" (
    "c123456789012345678901234567890123456789012345678901234567890ab" numeric
);
GRANT USAGE ON SCHEMA "Sales; DROP TABLE orders; --" TO ml_analyst;
GRANT SELECT ON "Sales; DROP TABLE orders; --"."Order ""Lines""",
                "x123456789012345678901234567890123456789012345678901234567890abc" TO ml_analyst;

SET ROLE regress_alice;
SELECT ml_create_project($$p'); DROP TABLE orders; --$$,
                         '"Sales; DROP TABLE orders; --"."Order ""Lines"""',
                         'Amount "$"') > 0 AS created;
SELECT ml_create_project('Projet « données » ✓', '"Sales; DROP TABLE orders; --"."Order ""Lines"""',
                         'Robert''); DROP TABLE orders;--', 'classification') > 0 AS created;
SELECT ml_create_project('mixed', '"Sales; DROP TABLE orders; --"."Order ""Lines"""',
                         'MixedCase') > 0 AS created;
SELECT regress_try($$SELECT ml_create_project('lower', '"Sales; DROP TABLE orders; --"."Order ""Lines"""', 'mixedcase')$$);
SELECT ml_create_project(repeat('n', 300),
                         'x123456789012345678901234567890123456789012345678901234567890abc',
                         'c123456789012345678901234567890123456789012345678901234567890ab') > 0 AS created;
SELECT ml_create_project('Δ', '"Sales; DROP TABLE orders; --"."Order ""Lines"""', 'ÉtiquetteΔ',
                         'classification') > 0 AS created;

SELECT length(name) AS name_length, relation, target, task FROM ml_projects ORDER BY id;
RESET ROLE;
SELECT name, relation_schema, relation_name, target FROM mlops.projects ORDER BY id;
-- orders is still there
SELECT count(*) AS orders_rows FROM orders;
-- a PMML export keeps every name and level exactly (libxml2 escapes them)
INSERT INTO "Sales; DROP TABLE orders; --"."Order ""Lines"""
SELECT g * 1.5, 'r' || (g % 3), (ARRAY['é<&>"x', 'Δ''; --'])[g % 2 + 1], g % 5 + (g % 3)
FROM generate_series(1, 40) g;
SET ROLE regress_alice;
SELECT version FROM ml_train('mixed', 'gbdt', '{"n_estimators": 2}',
                             '{"features": ["Amount \"$\"", "ÉtiquetteΔ", "Robert''); DROP TABLE orders;--"]}');
SELECT f.name, f.value
FROM XMLTABLE(XMLNAMESPACES('http://www.dmg.org/PMML-4_4' AS p),
              '/p:PMML/p:DataDictionary/p:DataField | /p:PMML/p:DataDictionary/p:DataField/p:Value'
              PASSING ml_export_pmml('mixed', 1)
              COLUMNS name text PATH 'self::p:DataField/@name | parent::p:DataField/@name',
                      value text PATH '@value') f;
SELECT ml_drop_project(name) FROM ml_projects ORDER BY id;

-- forecasting: hostile table, time, target and series_by names
RESET ROLE;
CREATE TABLE "Sales; DROP TABLE orders; --"."Daily ""Sales""" AS
SELECT (ARRAY['O''Brien', 'x"); DROP TABLE orders;--'])[s] AS "Store'; DROP TABLE orders;--",
       '2024-01-01'::date + i AS "Day ""1""", (10 * s + i)::numeric AS "Amount ""$""",
       s AS "ÉtiquetteΔ"
FROM generate_series(1, 2) s, generate_series(0, 29) i;
GRANT SELECT ON "Sales; DROP TABLE orders; --"."Daily ""Sales""" TO ml_analyst;
SET ROLE regress_alice;
SELECT ml_create_project($$f'); DROP TABLE orders; --$$, '"Sales; DROP TABLE orders; --"."Daily ""Sales"""',
                         'Amount "$"', 'forecast') > 0 AS created;
SELECT version, series, metrics->'fitted' AS fitted
FROM ml_forecast_train($$f'); DROP TABLE orders; --$$, 'Day "1"',
                       ARRAY['Store''; DROP TABLE orders;--', 'ÉtiquetteΔ']);
SELECT series, ts::date AS day, round(forecast::numeric, 3) AS forecast
FROM ml_forecast($$f'); DROP TABLE orders; --$$, 1, 1) ORDER BY series::text;
SELECT regress_try($$SELECT ml_forecast_train('f''); DROP TABLE orders; --', 'day "1"')$$);
SELECT regress_try($$SELECT ml_forecast_train('f''); DROP TABLE orders; --', 'Day "1"', '{"Store; DROP TABLE orders;--"}')$$);
SELECT ml_drop_project($$f'); DROP TABLE orders; --$$);
RESET ROLE;
SELECT count(*) AS orders_rows FROM orders;
DROP SCHEMA "Sales; DROP TABLE orders; --" CASCADE;
DROP TABLE "x123456789012345678901234567890123456789012345678901234567890abc";

-- ml_evaluate on relations and columns with hostile names: quoted everywhere.
CREATE SCHEMA "Eval; DROP TABLE orders; --";
CREATE TABLE "Eval; DROP TABLE orders; --"."Rows ""to"" learn" AS
SELECT g AS id, (g % 4)::float8 AS "x'); DROP TABLE orders;--", (g % 3)::float8 AS "ÉtiquetteΔ",
       (1 + 2 * (g % 4) - (g % 3))::float8 AS "Amount ""$"""
FROM generate_series(1, 60) g;
CREATE TABLE "Eval; DROP TABLE orders; --"."Rows ""to"" score; --" AS
SELECT * FROM "Eval; DROP TABLE orders; --"."Rows ""to"" learn" WHERE id % 2 = 0;
GRANT USAGE ON SCHEMA "Eval; DROP TABLE orders; --" TO ml_analyst;
GRANT SELECT ON ALL TABLES IN SCHEMA "Eval; DROP TABLE orders; --" TO ml_analyst;
SET ROLE regress_alice;
SELECT ml_create_project('eval''); DROP TABLE orders; --', '"Eval; DROP TABLE orders; --"."Rows ""to"" learn"',
                         'Amount "$"') > 0 AS created;
SELECT version FROM ml_train('eval''); DROP TABLE orders; --', 'linear');
SELECT * FROM (
    SELECT round((e->>'rmse')::numeric, 9) AS rmse, e->'rows_scored' AS scored, e->>'relation' AS relation,
           jsonb_object_keys(e->'permutation_importance') AS feature
    FROM ml_evaluate('eval''); DROP TABLE orders; --', 1,
                     '"Eval; DROP TABLE orders; --"."Rows ""to"" score; --"',
                     '{"permutation_importance": true, "permutation_repeats": 1}') e) s
ORDER BY feature COLLATE "C";
SELECT ml_drop_project('eval''); DROP TABLE orders; --', true);
RESET ROLE;
SELECT count(*) AS orders_rows FROM orders;
DROP SCHEMA "Eval; DROP TABLE orders; --" CASCADE;

-- Exposures: hostile project and consumer names stored and matched exactly.
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
