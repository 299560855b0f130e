-- ml_export_pmml: the errors (unknown project or version, algorithms with
-- no PMML form, a date/time feature, a project the caller cannot see, roles
-- without the function, a corrupted payload) and the shape of an export.
-- That exports score as ml_predict does is test/pmml.sh (schema, evaluator).
SET client_min_messages = warning;
CREATE TABLE px AS
SELECT i AS id, (i % 7)::float8 AS a,
       CASE WHEN i % 5 = 0 THEN NULL ELSE (ARRAY['u', 'v', 'w'])[i % 3 + 1] END AS c,
       '2024-01-01'::date + i AS d, (i % 7) * 2.0 + (i % 3) + sin(i) AS y, (i % 7 > 3)::int AS k
FROM generate_series(1, 60) i;
GRANT SELECT ON px TO ml_analyst;
SET ROLE regress_alice;
SELECT ml_create_project('px', 'px', 'y') > 0 AS created;
SELECT ml_create_project('px_class', 'px', 'k', 'classification') > 0 AS created;
SELECT version, algorithm FROM ml_train('px', 'linear', '{}', '{"features": ["a", "c"]}');
SELECT version, algorithm FROM ml_train('px', 'kmeans', '{"n_clusters": 2}', '{"features": ["a", "c"]}');
SELECT version, algorithm FROM ml_train('px', 'gbdt', '{"n_estimators": 3}', '{"features": ["a", "c", "d"]}');
SELECT version, algorithm FROM ml_train('px', 'random_forest', '{"n_estimators": 2}', '{"features": ["a", "c"]}');
SELECT version, algorithm FROM ml_train('px_class', 'naive_bayes', '{}', '{"features": ["a", "c"]}');
SELECT version, algorithm FROM ml_train('px_class', 'gbdt', '{"n_estimators": 2}', '{"features": ["a", "c"]}');

-- The shape of the exports (namespace pmml).
CREATE FUNCTION pg_temp.n(doc xml, path text) RETURNS int LANGUAGE sql AS $$
    SELECT (xpath('count(' || path || ')', doc, ARRAY[ARRAY['pmml', 'http://www.dmg.org/PMML-4_4']]))[1]::text::int
$$;
WITH e AS (SELECT ml_export_pmml('px', 1) AS doc)
SELECT pg_temp.n(doc, '/pmml:PMML[@version="4.4"]') AS pmml,
       pg_temp.n(doc, '//pmml:DataField') AS data_fields,
       pg_temp.n(doc, '//pmml:DataField[@name="c"]/pmml:Value') AS levels,
       pg_temp.n(doc, '//pmml:DerivedField') AS derived,
       pg_temp.n(doc, '//pmml:RegressionModel[@functionName="regression"]/pmml:RegressionTable/pmml:NumericPredictor') AS predictors
FROM e;
WITH e AS (SELECT ml_export_pmml('px', 4) AS doc)
SELECT pg_temp.n(doc, '//pmml:Segmentation[@multipleModelMethod="average"]/pmml:Segment/pmml:TreeModel') AS trees,
       pg_temp.n(doc, '//pmml:TreeModel[@missingValueStrategy="defaultChild"]') AS default_child
FROM e;
WITH e AS (SELECT ml_export_pmml('px_class', 2) AS doc)
SELECT pg_temp.n(doc, '/pmml:PMML/pmml:MiningModel/pmml:Segmentation[@multipleModelMethod="modelChain"]/pmml:Segment') AS chain,
       pg_temp.n(doc, '//pmml:RegressionModel[@normalizationMethod="logit"]/pmml:RegressionTable') AS tables,
       pg_temp.n(doc, '/pmml:PMML/pmml:MiningModel/pmml:Output/pmml:OutputField[@feature="probability"]') AS probabilities
FROM e;

-- Errors.
SELECT regress_try($$SELECT ml_export_pmml('no such project', 1)$$);
SELECT regress_try($$SELECT ml_export_pmml('px', 99)$$);
SELECT regress_try($$SELECT ml_export_pmml('px', 2)$$);
SELECT regress_try($$SELECT ml_export_pmml('px_class', 1)$$);
SELECT regress_try($$SELECT ml_export_pmml('px', 3)$$);
SELECT regress_try($$SELECT ml_export_pmml(NULL, 1)$$);
SELECT regress_try($$SELECT ml_export_pmml('px', NULL)$$);
-- a derived field would take a column's name
RESET ROLE;
CREATE TABLE px_clash AS SELECT a, a * 2 + 1 AS "standardized(a)", y FROM px;
GRANT SELECT ON px_clash TO ml_analyst;
SET ROLE regress_alice;
SELECT ml_create_project('px_clash', 'px_clash', 'y') > 0 AS created;
SELECT version FROM ml_train('px_clash', 'ridge');
SELECT regress_try($$SELECT ml_export_pmml('px_clash', 1)$$);
-- another analyst does not see the project; an engineer does, a consumer
-- and a role with no pg_mlops role may not call the function
SET ROLE regress_bob;
SELECT regress_try($$SELECT ml_export_pmml('px', 1)$$);
SET ROLE regress_eve;
SELECT pg_temp.n(ml_export_pmml('px', 1), '//pmml:RegressionModel') AS engineer_exports;
SET ROLE regress_carl;
SELECT regress_try($$SELECT ml_export_pmml('px', 1)$$);
SET ROLE regress_nobody;
SELECT regress_try($$SELECT ml_export_pmml('px', 1)$$);
RESET ROLE;
-- a corrupted payload is XX001, never a crash
UPDATE mlops.models m SET payload = substr(m.payload, 1, length(m.payload) - 3)
FROM mlops.projects p WHERE p.id = m.project_id AND p.name = 'px' AND m.version = 4;
SET ROLE regress_alice;
SELECT regexp_replace(regress_try($$SELECT ml_export_pmml('px', 4)$$), 'at byte [0-9]+ of [0-9]+', 'at byte N') AS corrupted;
RESET ROLE;
RESET client_min_messages;
