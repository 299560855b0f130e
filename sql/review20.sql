-- review20: numeric_text steps' "zoned"/"unzoned" lists checked against
-- each other and in ml_train's replay; a recipe's date fill held as its
-- column holds it in ml_train and scoring; log text escaping C1 controls
-- in an ISO 8859 database.
SET client_min_messages = warning;

-- 1. Damaged numeric_text steps. A column in both "zoned" and "unzoned"
-- was read with its zones (silently); a list longer than any relation's
-- columns is damage too. ml_train's replay gave 22023 ("option columns
-- must be an array...") for a damaged "columns", took a bare string as a
-- list and ignored a damaged "zoned".
CREATE TABLE r20_z (id int, t text, y float8);
INSERT INTO r20_z SELECT g, CASE WHEN g % 4 = 0 THEN NULL
    ELSE ('2024-01-01 10:00:00+00'::timestamptz + g * interval '1 hour')::text END, g
FROM generate_series(1, 40) g;
SELECT filled FROM ml_impute('r20_z', '{t}', 'mean', '{"roles": {"t": "datetime", "id": "identifier"}}',
                             into_table => 'r20_z_i');
SELECT id AS r20_rz, steps->0 AS how_read FROM mlops.recipes ORDER BY id DESC LIMIT 1 \gset
SELECT :'how_read' AS how_read;
UPDATE mlops.recipes SET steps = jsonb_set(steps, '{0,unzoned}', '["t"]') WHERE id = :r20_rz;
SELECT regress_try(format($$SELECT * FROM ml_apply_recipe(%s, 'r20_z', into_table => 'r20_z_a')$$, :r20_rz));
UPDATE mlops.recipes SET steps = jsonb_set(jsonb_set(steps, '{0,unzoned}', '[]'), '{0,zoned}',
    (SELECT jsonb_agg('c' || g) FROM generate_series(1, 1601) g)) WHERE id = :r20_rz;
SELECT regress_try(format($$SELECT * FROM ml_apply_recipe(%s, 'r20_z', into_table => 'r20_z_b')$$, :r20_rz));
-- ml_train's replay
CREATE TABLE r20_n (id int, amt text, y float8);
INSERT INTO r20_n SELECT g, CASE WHEN g % 5 = 0 THEN NULL ELSE (g % 13)::text END, g FROM generate_series(1, 60) g;
SELECT filled FROM ml_impute('r20_n', '{amt}', 'mean', '{"roles": {"id": "identifier"}}', into_table => 'r20_n_i');
SELECT id AS r20_rn FROM mlops.recipes ORDER BY id DESC LIMIT 1 \gset
SELECT ml_create_project('r20_pn', 'r20_n', 'y') > 0 AS created;
UPDATE mlops.recipes SET steps = jsonb_set(steps, '{0,columns}', '5') WHERE id = :r20_rn;
SELECT regexp_replace(regress_try(format($$SELECT version FROM ml_train('r20_pn', 'linear',
    options => '{"exclude": ["id"], "recipe": %s}')$$, :r20_rn)), 'recipe \d+', 'recipe N', 'g') AS columns_number;
UPDATE mlops.recipes SET steps = jsonb_set(steps, '{0,columns}', '"amt"') WHERE id = :r20_rn;
SELECT regexp_replace(regress_try(format($$SELECT version FROM ml_train('r20_pn', 'linear',
    options => '{"exclude": ["id"], "recipe": %s}')$$, :r20_rn)), 'recipe \d+', 'recipe N', 'g') AS columns_string;
UPDATE mlops.recipes SET steps = jsonb_set(jsonb_set(steps, '{0,columns}', '[]'), '{0,zoned}', '5') WHERE id = :r20_rn;
SELECT regexp_replace(regress_try(format($$SELECT version FROM ml_train('r20_pn', 'linear',
    options => '{"exclude": ["id"], "recipe": %s}')$$, :r20_rn)), 'recipe \d+', 'recipe N', 'g') AS zoned_number;

-- 2. A mean of dates lies between two days: ml_apply_recipe wrote the
-- nearer day, ml_train trained on and ml_predict filled a NULL with the
-- mean itself (the same row scored 46.67 with its NULL, 38.33 as the
-- recipe wrote it). A timestamp(0)'s fill likewise to the second.
CREATE TABLE r20_f (id int, d date, t timestamp(0), y float8);
INSERT INTO r20_f SELECT g, CASE WHEN g % 5 = 0 THEN NULL ELSE date '2024-03-01' + (g % 7) END,
  CASE WHEN g % 5 = 0 THEN NULL ELSE timestamp '2024-03-01' + (g % 7) * interval '1 hour 7 seconds' END,
  (g % 7) * 10 FROM generate_series(1, 23) g;
SELECT column_name, method, filled FROM ml_impute('r20_f', '{d,t}', 'mean', into_table => 'r20_f_i');
SELECT id AS r20_rf FROM mlops.recipes ORDER BY id DESC LIMIT 1 \gset
SELECT d, t FROM r20_f_i WHERE id = 5;
SELECT ml_create_project('r20_pf', 'r20_f', 'y') > 0 AS created;
SELECT version FROM ml_train('r20_pf', 'linear',
    options => format('{"exclude": ["id"], "recipe": %s}', :r20_rf)::jsonb);
SELECT ml_mark_ready('r20_pf', 1) IS NOT NULL AS ready, ml_deploy('r20_pf', 1) IS NOT NULL AS deployed;
CREATE TABLE r20_fs AS SELECT id, d, t FROM r20_f WHERE id = 5;
SELECT round((SELECT ml_predict('r20_pf', s) FROM r20_fs s)::numeric, 6)
     = round((SELECT ml_predict('r20_pf', s) FROM (SELECT id, d, t FROM r20_f_i WHERE id = 5) s)::numeric, 6)
       AS null_row_as_applied,
       round(ml_predict('r20_pf', '{"d": null, "t": null}'::jsonb)::numeric, 6)
     = round((SELECT ml_predict('r20_pf', s) FROM (SELECT id, d, t FROM r20_f_i WHERE id = 5) s)::numeric, 6)
       AS json_row_as_applied;
-- a timestamp's fill scored into a date column: its nearest day
CREATE TABLE r20_fd (id int, d date, t date);
INSERT INTO r20_fd VALUES (5, NULL, NULL);
SELECT round(ml_predict('r20_pf', s)::numeric, 6) =
       round(ml_predict('r20_pf', jsonb_build_object('d', (SELECT d FROM r20_f_i WHERE id = 5),
                                                    't', (SELECT t::date FROM r20_f_i WHERE id = 5)))::numeric, 6)
       AS date_column_nearest_day
FROM r20_fd s;

-- 3. Log text in a LATIN1 database: its bytes 0x80..0x9f are the C1
-- controls (U+009B, CSI, converted there); they went out as they were.
CREATE DATABASE r20_latin ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;
ALTER DATABASE r20_latin RENAME TO "r20_x";
SELECT datname AS r20_db FROM pg_database WHERE datname LIKE 'r20\_%' \gset
\c :"r20_db"
SET client_encoding = 'UTF8';
SET client_min_messages = warning;
CREATE EXTENSION pg_mlops CASCADE;
CREATE ROLE regress_r20 LOGIN IN ROLE ml_engineer, ml_analyst;
CREATE TABLE r20_o (id int, y float8);
INSERT INTO r20_o SELECT g, g FROM generate_series(1, 20) g;
GRANT SELECT ON r20_o TO ml_engineer;
SET ROLE regress_r20;
SELECT ml_create_project('r20_p', 'r20_o', 'y') > 0 AS created;
SELECT ml_schedule('r20_p', 'train', '5 * * * *') IS NOT NULL AS scheduled;
RESET ROLE;
\c contrib_regression
DROP DATABASE :"r20_db";
DROP ROLE regress_r20;
