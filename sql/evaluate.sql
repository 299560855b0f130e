-- ml_evaluate: a stored version (deployed or not) scored on any labelled
-- relation, read as the caller; the task's metrics and row counts, the
-- errors of bad input, permutation importance, and the audit row.
CREATE TABLE ev_train AS
SELECT g AS id, (g % 7)::float8 AS a, (g % 5)::float8 AS b, (g % 3)::float8 AS c,
       1 + 2 * (g % 7) - 3 * (g % 5) + 0.0::float8 AS y
FROM generate_series(1, 100) g;
-- new rows, one without a target
CREATE TABLE ev_new AS
SELECT g AS id, (g % 7)::float8 AS a, (g % 5)::float8 AS b, (g % 3)::float8 AS c,
       CASE WHEN g = 205 THEN NULL ELSE 1 + 2 * (g % 7) - 3 * (g % 5) END::float8 AS y
FROM generate_series(201, 240) g;
CREATE TABLE ev_no_target AS SELECT id, a, b, c FROM ev_new;
CREATE TABLE ev_text_feature AS SELECT id, a::text AS a, b, c, y FROM ev_new;
CREATE TABLE ev_text_target AS SELECT id, a, b, c, y::text AS y FROM ev_new;
CREATE TABLE ev_empty AS SELECT * FROM ev_new WHERE false;
CREATE TABLE ev_only_null AS SELECT id, a, b, c, NULL::float8 AS y FROM ev_new;
CREATE TABLE ev_nan AS SELECT * FROM ev_new;
UPDATE ev_nan SET y = 'NaN' WHERE id = 210;
UPDATE ev_nan SET y = '-Infinity' WHERE id = 211;
CREATE TABLE ev_secret AS SELECT * FROM ev_new;
GRANT SELECT ON ev_train, ev_new, ev_no_target, ev_text_feature, ev_text_target, ev_empty,
                ev_only_null, ev_nan TO ml_analyst, ml_engineer;
-- row-level security applies: analysts see only the rows with an even id
CREATE TABLE ev_rls AS SELECT * FROM ev_new;
ALTER TABLE ev_rls ENABLE ROW LEVEL SECURITY;
CREATE POLICY ev_even ON ev_rls FOR SELECT TO ml_analyst USING (id % 2 = 0);
GRANT SELECT ON ev_rls TO ml_analyst;
-- a view, and a relation with no rows to read
CREATE VIEW ev_view AS SELECT * FROM ev_new WHERE id < 220;
CREATE SEQUENCE ev_seq;
GRANT SELECT ON ev_view, ev_seq TO ml_analyst;

SET ROLE regress_alice;
SELECT ml_create_project('ev_reg', 'ev_train', 'y') > 0 AS created;
SELECT version, algorithm FROM ml_train('ev_reg', 'linear');

-- A perfect regression: RMSE 0, R² 1; the row without a target counted.
SELECT round((e->>'rmse')::numeric, 9) AS rmse, round((e->>'mae')::numeric, 9) AS mae,
       round((e->>'r2')::numeric, 9) AS r2, round((e->>'mape')::numeric, 9) AS mape,
       e->'mape_zero_targets' AS mape_zero_targets, e->'rows' AS rows,
       e->'rows_scored' AS scored, e->'rows_without_target' AS without_target,
       e->'version' AS version, e->'algorithm' AS algorithm, e->'task' AS task,
       e->'relation' AS relation
FROM ml_evaluate('ev_reg', 1, 'ev_new') e;
-- Row-level security: the caller's rows only.
SELECT e->'rows' AS rows, e->'rows_scored' AS scored FROM ml_evaluate('ev_reg', 1, 'ev_rls') e;
-- A view is evaluated like a table.
SELECT e->'rows' AS rows, e->'rows_scored' AS scored, round((e->>'rmse')::numeric, 9) AS rmse
FROM ml_evaluate('ev_reg', 1, 'ev_view') e;
-- ml_train reports the same metrics on its test split.
SELECT array_agg(k ORDER BY k) AS evaluate_only
FROM ml_evaluate('ev_reg', 1, 'ev_new') e, jsonb_object_keys(e) k
WHERE NOT (SELECT metrics FROM ml_models WHERE project = 'ev_reg' AND version = 1) ? k;

-- Permutation importance: c is not used, a and b are.
SELECT round((e->'permutation_importance'->>'a')::numeric, 6) > 0 AS a_matters,
       round((e->'permutation_importance'->>'b')::numeric, 6) > 0 AS b_matters,
       round((e->'permutation_importance'->>'c')::numeric, 6) AS c,
       e->'permutation_metric' AS metric, e->'permutation_repeats' AS repeats
FROM ml_evaluate('ev_reg', 1, 'ev_new', '{"permutation_importance": true, "permutation_repeats": 3}') e;
-- the same seed, the same importance
SELECT (SELECT e->'permutation_importance' FROM ml_evaluate('ev_reg', 1, 'ev_new', '{"permutation_importance": true, "seed": 7}') e)
     = (SELECT e->'permutation_importance' FROM ml_evaluate('ev_reg', 1, 'ev_new', '{"permutation_importance": true, "seed": 7}') e)
       AS reproducible;
-- ... and in ml_train, on its test split, next to the gain importance
SELECT version, metrics ? 'importance' AS gain,
       round((metrics->'permutation_importance'->>'c')::numeric, 6) AS c,
       (metrics->'permutation_importance'->>'a')::float8 > 0 AS a_matters,
       metrics->'permutation_repeats' AS repeats
FROM ml_train('ev_reg', 'linear', options => '{"permutation_importance": true}');
SELECT regress_try($$SELECT ml_train('ev_reg', 'linear', options => '{"permutation_importance": true, "folds": 3}')$$);
SELECT regress_try($$SELECT ml_train('ev_reg', 'linear', options => '{"permutation_repeats": 0}')$$);

-- Errors, each naming what is wrong; nothing is written when a call fails.
SELECT regress_catalog_digest() AS digest \gset
SELECT regress_try($$SELECT ml_evaluate('ev_reg', 1, 'ev_no_target')$$);
SELECT regress_try($$SELECT ml_evaluate('ev_reg', 1, 'ev_text_feature')$$);
SELECT regress_try($$SELECT ml_evaluate('ev_reg', 1, 'ev_text_target')$$);
SELECT regress_try($$SELECT ml_evaluate('ev_reg', 1, 'ev_empty')$$);
SELECT regress_try($$SELECT ml_evaluate('ev_reg', 1, 'ev_only_null')$$);
SELECT regress_try($$SELECT ml_evaluate('ev_reg', 1, 'ev_nan')$$);
SELECT regress_try($$SELECT ml_evaluate('ev_reg', 1, 'ev_secret')$$);
SELECT regress_try($$SELECT ml_evaluate('ev_reg', 9, 'ev_new')$$);
SELECT regress_try($$SELECT ml_evaluate('ev_reg', NULL, 'ev_new')$$);
SELECT regress_try($$SELECT ml_evaluate('ev_reg', 1, 'ev_new', '{"nosuch": 1}')$$);
SELECT regress_try($$SELECT ml_evaluate('ev_reg', 1, 'ev_new', '{"permutation_repeats": 101}')$$);
SELECT regress_try($$SELECT ml_evaluate('ev_reg', 1, 'orders')$$);
SELECT regress_try($$SELECT ml_evaluate('ev_reg', 1, 'ev_seq')$$);
SELECT regress_try($$SELECT ml_evaluate('ev_reg', 1, 0)$$);
SELECT regress_catalog_digest() = :'digest' AS unchanged;

-- A project the caller cannot see is reported exactly like one that does not exist.
SET ROLE regress_bob;
SELECT regress_try($$SELECT ml_evaluate('ev_reg', 1, 'ev_new')$$);
SELECT regress_try($$SELECT ml_evaluate('ev_nosuch', 1, 'ev_new')$$);
-- engineers see every project; consumers and PUBLIC have no access
SET ROLE regress_eve;
SELECT round((e->>'rmse')::numeric, 9) AS rmse FROM ml_evaluate('ev_reg', 1, 'ev_new') e;
SET ROLE regress_carl;
SELECT regress_try($$SELECT ml_evaluate('ev_reg', 1, 'ev_new')$$);
SET ROLE regress_nobody;
SELECT regress_try($$SELECT ml_evaluate('ev_reg', 1, 'ev_new')$$);

-- Classification: a one-tree forest that has learnt x < 10 -> a, < 20 -> b, else c
-- exactly, scored on rows whose labels disagree in a known way.
RESET ROLE;
CREATE TABLE ev_cls AS
SELECT g AS id, (g % 30)::float8 AS x,
       CASE WHEN g % 30 < 10 THEN 'a' WHEN g % 30 < 20 THEN 'b' ELSE 'c' END AS label
FROM generate_series(1, 300) g;
CREATE TABLE ev_cls_new (id integer, x float8, label text);
INSERT INTO ev_cls_new VALUES
    (1, 1, 'a'), (2, 2, 'a'), (3, 3, 'b'),          -- predicted a
    (4, 15, 'b'), (5, 16, 'b'), (6, 17, 'c'),       -- predicted b
    (7, 25, 'c'), (8, 26, 'a'),                     -- predicted c
    (9, 27, 'zzz'), (10, 5, 'zzz'), (11, 6, 'yy'),  -- labels never seen
    (12, 28, NULL);                                 -- no target
CREATE TABLE ev_cls_int (id integer, x float8, label integer);
INSERT INTO ev_cls_int VALUES (1, 1, 1), (2, 2, 1);
GRANT SELECT ON ev_cls, ev_cls_new, ev_cls_int TO ml_analyst;
SET ROLE regress_alice;
SELECT ml_create_project('ev_cls', 'ev_cls', 'label', 'classification') > 0 AS created;
SELECT version, algorithm, metrics->>'accuracy' AS accuracy
FROM ml_train('ev_cls', 'random_forest', '{"n_estimators": 1, "bootstrap": false, "max_features": 1.0}');
SELECT e->'confusion_matrix' AS confusion_matrix, e->'classes' AS classes,
       e->'accuracy' AS accuracy, round((e->>'balanced_accuracy')::numeric, 9) AS balanced_accuracy,
       round((e->>'precision')::numeric, 9) AS precision, round((e->>'recall')::numeric, 9) AS recall,
       round((e->>'f1')::numeric, 9) AS f1, e->'rows' AS rows, e->'rows_scored' AS scored,
       e->'rows_without_target' AS without_target, e->'rows_unseen_label' AS unseen,
       e->'unseen_labels' AS unseen_labels, e->'task' AS task
FROM ml_evaluate('ev_cls', 1, 'ev_cls_new') e;
-- an integer target column against text labels: the labels are not the version's
SELECT regress_try($$SELECT ml_evaluate('ev_cls', 1, 'ev_cls_int')$$);
-- ml_train's classification metrics are the same set
SELECT array_agg(k ORDER BY k) AS evaluate_only
FROM ml_evaluate('ev_cls', 1, 'ev_cls_new') e, jsonb_object_keys(e) k
WHERE NOT (SELECT metrics FROM ml_models WHERE project = 'ev_cls' AND version = 1) ? k;
SELECT round((e->'permutation_importance'->>'x')::numeric, 6) AS x, e->'permutation_metric' AS metric
FROM ml_evaluate('ev_cls', 1, 'ev_cls_new', '{"permutation_importance": true, "permutation_repeats": 1, "seed": 3}') e;

-- A clustering version has nothing to be evaluated against.
SELECT version FROM ml_train('ev_cls', 'kmeans', '{"n_clusters": 3}');
SELECT regress_try($$SELECT ml_evaluate('ev_cls', 2, 'ev_cls_new')$$);
-- Numeric class labels match by value (1, 1.0 and 1::int are one class).
RESET ROLE;
CREATE TABLE ev_num AS SELECT g AS id, (g % 30)::float8 AS x, (g % 30 >= 15)::int AS label
FROM generate_series(1, 200) g;
CREATE TABLE ev_num_new (id integer, x float8, label numeric);
INSERT INTO ev_num_new VALUES (1, 1, 0.0), (2, 20, 1.00), (3, 21, 0), (4, 22, 2);
GRANT SELECT ON ev_num, ev_num_new TO ml_analyst;
SET ROLE regress_alice;
SELECT ml_create_project('ev_num', 'ev_num', 'label', 'classification') > 0 AS created;
SELECT version FROM ml_train('ev_num', 'random_forest', '{"n_estimators": 1, "bootstrap": false, "max_features": 1.0}');
SELECT e->'confusion_matrix' AS confusion_matrix, e->'classes' AS classes, e->'accuracy' AS accuracy,
       e->'roc_auc' AS roc_auc, e->'unseen_labels' AS unseen_labels, e->'task' AS task
FROM ml_evaluate('ev_num', 1, 'ev_num_new') e;

-- The audit trail has one row per evaluation.
SELECT action, object_name, details->>'version' AS version, details->>'relation' AS relation,
       details->>'rows_scored' AS rows_scored, details->>'permutation_importance' AS permutation
FROM ml_audit WHERE action = 'evaluate' AND object_name LIKE 'ev\_%' ORDER BY id LIMIT 3;

RESET ROLE;
SET ROLE regress_alice;
SELECT ml_drop_project('ev_reg', true), ml_drop_project('ev_cls', true), ml_drop_project('ev_num', true);
RESET ROLE;
DROP VIEW ev_view;
DROP SEQUENCE ev_seq;
DROP TABLE ev_train, ev_new, ev_no_target, ev_text_feature, ev_text_target, ev_empty, ev_only_null,
           ev_nan, ev_secret, ev_rls, ev_cls, ev_cls_new, ev_cls_int, ev_num, ev_num_new;
