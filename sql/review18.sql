-- review18: a date domain's CHECK in ml_train's replay of a recipe and in
-- scoring; standard deviations near the double range; recipes record how
-- text columns of times were read (with zones or as wall times); text
-- declared numeric on the large-table path. (The log line of an HTTP 5xx
-- is checked in test/http.sh.)
\set VERBOSITY sqlstate
SET client_min_messages = warning;

-- 1. A recipe's date fill that a date domain refuses: ml_apply_recipe
-- leaves the cell missing (counted); ml_train replayed it anyway, trained
-- on it and filled every scored row's NULL with it. Now not applied, with
-- the reason.
CREATE DOMAIN r18_early AS date CHECK (VALUE < '2024-03-10');
CREATE TABLE r18_fit (id int, d date, y float8);
INSERT INTO r18_fit
SELECT g, CASE WHEN g % 5 = 0 THEN NULL ELSE date '2024-03-01' + ((g % 9) * (g % 9)) END,
       (g % 9) * (g % 9)
FROM generate_series(1, 200) g;
SELECT column_name, method, filled FROM ml_impute('r18_fit', '{d}', 'median', into_table => 'r18_fit_i');
SELECT id AS r18_recipe FROM mlops.recipes ORDER BY id DESC LIMIT 1 \gset
SELECT min(d) = max(d) AS one_fill, min(d) >= '2024-03-10' AS refused_by_the_domain
FROM r18_fit_i WHERE id % 5 = 0;
CREATE TABLE r18_dom (id int, d r18_early, y float8);
INSERT INTO r18_dom
SELECT g, CASE WHEN g % 5 = 0 THEN NULL ELSE date '2024-03-01' + (g % 9) END, g % 9
FROM generate_series(1, 200) g;
SELECT column_name, nulls_before, nulls_after FROM ml_apply_recipe(:r18_recipe, 'r18_dom', into_table => 'r18_dom_a')
WHERE column_name = 'd';
SELECT ml_create_project('r18_p', 'r18_dom', 'y') > 0 AS created;
SELECT version FROM ml_train('r18_p', 'linear',
    options => format('{"exclude": ["id"], "recipe": %s}', :r18_recipe)::jsonb);
SELECT training->'recipe'->'applied' AS applied, training->'recipe'->'not_applied' AS not_applied
FROM mlops.models WHERE project_id = (SELECT id FROM mlops.projects WHERE name = 'r18_p');
-- Scoring: a model trained where the column is a plain date keeps the
-- fill; a row of a column of the domain is scored as ml_apply_recipe
-- writes it there, the fill refused (the encoder's own fill, the mean).
SELECT ml_create_project('r18_q', 'r18_fit', 'y') > 0 AS created;
SELECT version FROM ml_train('r18_q', 'linear',
    options => format('{"exclude": ["id"], "recipe": %s}', :r18_recipe)::jsonb);
SELECT training->'recipe'->'applied' AS applied FROM mlops.models
WHERE project_id = (SELECT id FROM mlops.projects WHERE name = 'r18_q');
SELECT ml_mark_ready('r18_q', 1) IS NOT NULL AS ready, ml_deploy('r18_q', 1) IS NOT NULL AS deployed;
CREATE TABLE r18_score_plain (id int, d date);
CREATE TABLE r18_score_dom (id int, d r18_early);
INSERT INTO r18_score_plain VALUES (1, NULL);
INSERT INTO r18_score_dom VALUES (1, NULL);
SELECT (SELECT ml_predict('r18_q', s) FROM r18_score_plain s) AS with_fill,
       (SELECT ml_predict('r18_q', s) FROM r18_score_dom s) AS without_fill \gset
SELECT round(:with_fill::numeric, 3) = round((SELECT ml_predict('r18_q', jsonb_build_object('d', min(d)))
                                              FROM r18_fit_i WHERE id % 5 = 0)::numeric, 3) AS plain_row_filled,
       :with_fill <> :without_fill AS domain_row_not_filled;

-- 2. Standard deviations of values near +-1.7e308: the squares overflowed
-- and the sd was infinite. The learned imputer standardised every target
-- to 0 and left every fill NaN (missing, "not finite numbers"); a z-score
-- found no outlier at any k.
CREATE TABLE r18_big (id int, a float8, b float8);
INSERT INTO r18_big
SELECT g, CASE WHEN g % 5 = 0 THEN NULL ELSE ((g % 7) - 3) * 5.6e307 + (g % 11) * 1e300 END,
       CASE WHEN g % 6 = 0 THEN NULL ELSE (g % 7) + (g % 11) * 0.01 END
FROM generate_series(1, 200) g;
SELECT column_name, filled FROM ml_impute('r18_big', '{a}', 'learned', '{"roles": {"id": "identifier"}}',
                                          into_table => 'r18_big_l');
SELECT count(*) FILTER (WHERE a IS NULL) AS left_missing,
       bool_and(a::text NOT IN ('NaN', 'Infinity', '-Infinity')) AS finite FROM r18_big_l;
SELECT column_name, regexp_replace(actions, '^.*; ', '') AS outliers
FROM ml_clean('r18_big', '{"roles": {"id": "identifier"}, "missing": {"method": "median"},
                          "outliers": {"method": "zscore", "k": 1}}', into_table => 'r18_big_z')
WHERE column_name = 'a';
SELECT bool_and(a::text NOT IN ('NaN', 'Infinity', '-Infinity')) AS finite,
       max(abs(a)) < 1.7e308 AS winsorized FROM r18_big_z;
-- the example of three values: 1.7e308, -1.7e308 and 0 have sd 1.7e308
CREATE TABLE r18_three (id int, a float8);
INSERT INTO r18_three VALUES (1, 1.7e308), (2, -1.7e308), (3, 0), (4, 1.7e308), (5, -1.7e308), (6, 0), (7, NULL);
SELECT column_name, regexp_replace(actions, '^.*; ', '') AS outliers
FROM ml_clean('r18_three', '{"roles": {"id": "identifier"}, "missing": {"method": "mean"},
                            "outliers": {"method": "zscore", "k": 0.5}}', into_table => 'r18_three_z')
WHERE column_name = 'a';
SELECT id, a FROM r18_three_z ORDER BY id;
-- a regression on them: a slope beyond the double range once unscaled
-- (-Infinity, stored in the recipe) left every fill NaN; refitted with a
-- larger penalty until every coefficient is finite
CREATE TABLE r18_reg (id int, a float8, b float8);
INSERT INTO r18_reg VALUES (1, 1.7e308, 1), (2, -1.7e308, 2), (3, 0, 3), (4, NULL, 4), (5, 1.7e308, 5),
    (6, NULL, 6), (7, -1.7e308, 7), (8, 0, 8);
SELECT column_name, method, filled FROM ml_impute('r18_reg', '{a}', 'regression', '{"roles": {"id": "identifier"}}',
                                                  into_table => 'r18_reg_r');
SELECT count(*) FILTER (WHERE a IS NULL) AS left_missing, bool_and(abs(a) <= 1.7e308) AS finite FROM r18_reg_r;
SELECT bool_and(c::text NOT LIKE '%Infinity%') AS finite_coefficients
FROM mlops.recipes r, jsonb_array_elements(r.steps) s, jsonb_array_elements(s->'coefficients') c
WHERE r.id = (SELECT max(id) FROM mlops.recipes);

-- 3. A recipe of ml_impute has no cast step: whether a text column of
-- times was read with its zones (timestamptz) or as wall times was
-- decided again by the new rows. A mean instant fitted on "+00" texts was
-- written as a wall time into rows without zones, and a wall time fitted
-- on such rows as an instant into rows with zones. The recipe says so now.
SET TimeZone = 'Asia/Kolkata';
CREATE TABLE r18_zoned (id int, t text);
INSERT INTO r18_zoned VALUES (1, '2024-01-01 10:00:00+00'), (2, '2024-01-01 12:00:00+00'), (3, NULL);
CREATE TABLE r18_wall (id int, t text);
INSERT INTO r18_wall VALUES (1, '2024-01-01 10:00:00'), (2, '2024-01-01 12:00:00'), (3, NULL);
SELECT filled FROM ml_impute('r18_zoned', '{t}', 'mean', '{"roles": {"t": "datetime", "id": "identifier"}}',
                             into_table => 'r18_zoned_i');
SELECT id AS r18_rz, steps->0 AS how_read FROM mlops.recipes ORDER BY id DESC LIMIT 1 \gset
SELECT :'how_read' AS how_read;
SELECT filled FROM ml_impute('r18_wall', '{t}', 'mean', '{"roles": {"t": "datetime", "id": "identifier"}}',
                             into_table => 'r18_wall_i');
SELECT id AS r18_rw, steps->0 AS how_read FROM mlops.recipes ORDER BY id DESC LIMIT 1 \gset
SELECT :'how_read' AS how_read;
-- ml_train refuses such a recipe as before (the fill was fitted on times,
-- the relation's column is text), not for the step that records the reading
SELECT ml_create_project('r18_z', 'r18_zoned', 'id') > 0 AS created;
SELECT regexp_replace(regress_try(format($$SELECT version FROM ml_train('r18_z', 'linear',
    options => '{"recipe": %s}')$$, :r18_rz)), 'recipe \d+', 'recipe N', 'g') AS refused;
-- the instant 11:00 UTC, written with its offset into rows without zones
SELECT nulls_after FROM ml_apply_recipe(:r18_rz, 'r18_wall', into_table => 'r18_wall_a') WHERE column_name = 't';
SELECT id, t, mlops.try_cast_timestamptz(t) AT TIME ZONE 'UTC' AS utc FROM r18_wall_a ORDER BY id;
-- the wall time 11:00, without an offset, into rows with zones
SELECT nulls_after FROM ml_apply_recipe(:r18_rw, 'r18_zoned', into_table => 'r18_zoned_a') WHERE column_name = 't';
SELECT id, t FROM r18_zoned_a ORDER BY id;
-- a recipe written before the key: decided by the new rows, as before
UPDATE mlops.recipes SET steps = steps - 0 WHERE id = :r18_rz;
SELECT nulls_after FROM ml_apply_recipe(:r18_rz, 'r18_wall', into_table => 'r18_wall_old') WHERE column_name = 't';
SELECT id, t FROM r18_wall_old ORDER BY id;
-- a damaged key
UPDATE mlops.recipes SET steps = jsonb_set(steps, '{0,zoned}', '5') WHERE id = :r18_rw;
SELECT regress_try(format($$SELECT * FROM ml_apply_recipe(%s, 'r18_zoned', into_table => 'r18_zoned_bad')$$, :r18_rw));
RESET TimeZone;

-- 4. Text declared numeric (options.roles) on the large-table path: the
-- chunks read only the rows with a NULL, so the unparsed cells ("n/a")
-- stayed in the table, counted on the sample only, and ml_clean's
-- nulls_before left them out. Now as in memory: filled and counted.
CREATE TABLE r18_nt AS
SELECT g AS id, CASE WHEN g % 10 = 0 THEN 'n/a' WHEN g % 13 = 0 THEN NULL ELSE (g % 50)::text END AS amt,
       (g % 7)::float8 AS x
FROM generate_series(1, 40000) g;
ANALYZE r18_nt;
SET maintenance_work_mem = '1MB';
SELECT column_name, filled FROM ml_impute('r18_nt', '{amt}', 'mean',
    '{"roles": {"amt": "numeric", "id": "identifier"}}', into_table => 'r18_nt_i');
SELECT id AS r18_rnt, report->0->'unparsed' AS unparsed FROM mlops.recipes ORDER BY id DESC LIMIT 1 \gset
SELECT :unparsed AS unparsed;
SELECT count(*) FILTER (WHERE amt = 'n/a') AS unparsed_left, count(*) FILTER (WHERE amt IS NULL) AS nulls_left
FROM r18_nt_i;
-- the large path was taken: the run profiled a sample
SELECT bool_and(rows < 40000) AS sampled FROM mlops.column_profiles WHERE recipe_id = :r18_rnt;
SELECT column_name, nulls_before, nulls_after FROM ml_clean('r18_nt',
    '{"roles": {"amt": "numeric", "id": "identifier"}, "outliers": false, "missing": {"method": "mean"}}',
    into_table => 'r18_nt_c') WHERE column_name = 'amt';
SELECT count(*) FILTER (WHERE amt IS NULL) AS nulls_left FROM r18_nt_c;
SELECT s->>'step' AS step FROM mlops.recipes r, jsonb_array_elements(r.steps) s
WHERE r.id = (SELECT max(id) FROM mlops.recipes) AND s->>'step' = 'sample';
RESET maintenance_work_mem;
-- the same table in memory: the same counts
SELECT column_name, nulls_before, nulls_after FROM ml_clean('r18_nt',
    '{"roles": {"amt": "numeric", "id": "identifier"}, "outliers": false, "missing": {"method": "mean"}}',
    into_table => 'r18_nt_m') WHERE column_name = 'amt';
