-- review21: review of the day's CSV import, workflow import and date fill
-- fixes: a date/time fill scored into a column of another type, a JSON
-- null in option "types", names of no type in a workflow's import, a
-- malformed first record with "infer_rows": 1, the kept rest of a line of
-- tabs, C1 controls in log text of a SQL_ASCII database.
SET client_min_messages = warning;
SET TimeZone = 'UTC';

-- 1. A date column's mean fill (2024-03-03 16:25) is held as its nearest
-- day for training; scoring a row whose column is a timestamp filled its
-- NULL with that midnight, where ml_apply_recipe writes 16:25 into the
-- same column (34.25 against 28.55 on the same row). Scoring holds the
-- fill as fitted as the row's column holds it, as it does for numbers.
CREATE TABLE r21_f (id int, d date, y float8);
INSERT INTO r21_f SELECT g, CASE WHEN g % 5 = 0 THEN NULL ELSE date '2024-03-01' + (g % 7) END,
  (g % 7) * 10 FROM generate_series(1, 23) g;
SELECT column_name, method, filled FROM ml_impute('r21_f', '{d}', 'mean', into_table => 'r21_f_i');
SELECT id AS r21_rf FROM mlops.recipes ORDER BY id DESC LIMIT 1 \gset
SELECT ml_create_project('r21_pf', 'r21_f', 'y') > 0 AS created;
SELECT version FROM ml_train('r21_pf', 'linear',
    options => format('{"exclude": ["id"], "recipe": %s}', :r21_rf)::jsonb);
SELECT ml_mark_ready('r21_pf', 1) IS NOT NULL AS ready, ml_deploy('r21_pf', 1) IS NOT NULL AS deployed;
CREATE TABLE r21_s (id int, d timestamp);
INSERT INTO r21_s VALUES (5, NULL);
SELECT count(*) FROM ml_apply_recipe(:r21_rf, 'r21_s', 'r21_s_i');
SELECT d FROM r21_s_i;
SELECT round((SELECT ml_predict('r21_pf', s) FROM r21_s s)::numeric, 6)
     = round((SELECT ml_predict('r21_pf', s) FROM r21_s_i s)::numeric, 6) AS timestamp_row_as_applied;
-- the date row and the JSON row still take the nearest day, as trained
SELECT round(ml_predict('r21_pf', '{"d": null}'::jsonb)::numeric, 6)
     = round(ml_predict('r21_pf', '{"d": "2024-03-04"}'::jsonb)::numeric, 6) AS json_row_nearest_day;
SELECT ml_drop_project('r21_pf', force => true);

-- 2. A JSON null in option "types" named no type, and the import crashed
-- the server dereferencing it (a workflow's run of such options is the same
-- ml_import_csv call).
SELECT regress_try($$SELECT count(*) FROM ml_import_csv('r21_n', data => E'a,b\n1,2\n',
    options => '{"types": {"a": null}}')$$);

-- 3. A workflow's import stored a name in "types" that named no type
-- unqualified: its runs resolved it in the job's search_path, where a
-- domain of that name created later by any role that may create there
-- was taken, its CHECK run as the workflow's owner. Every name is checked
-- at definition as a run reads it.
SET ROLE regress_alice;
SELECT ml_create_project('r21_p', 'orders', 'amount') > 0 AS created;
SELECT regress_try($$SELECT ml_create_workflow('r21_p', 'r21 none', '[{"kind": "import", "path": "/tmp/r21.csv",
    "into_table": "public.r21_in", "options": {"types": {"q": "integer", "r": "no_such_type"}}}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('r21_p', 'r21 null', '[{"kind": "import", "path": "/tmp/r21.csv",
    "into_table": "public.r21_in", "options": {"types": {"r": null}}}]')$$);
SELECT regress_try($$SELECT ml_create_workflow('r21_p', 'r21 base', '[{"kind": "import", "path": "/tmp/r21.csv",
    "into_table": "public.r21_in", "options": {"types": {"r": "int4"}}}]')$$);
SELECT count(*) AS workflows FROM ml_workflows WHERE name LIKE 'r21 %';
SELECT ml_drop_project('r21_p');
RESET ROLE;

-- 4. With "infer_rows": 1 a malformed first record was the one record
-- read for the types, and its fields (2, cut short) set the column count
-- again: every good record was rejected. A malformed record is not one
-- of the infer_rows.
SELECT * FROM ml_import_csv('r21_i', data => E'1,"a"x,3\n4,5,6\n7,8,9\n',
    options => '{"header": false, "infer_rows": 1}');
SELECT * FROM r21_i ORDER BY 1;

-- 5. The kept rest of a malformed line is cut at 1,000 bytes: the tabs
-- after a closing quote were kept to 1,000 besides the quote.
SELECT line, octet_length(content) AS bytes
FROM ml_import_csv('r21_t', data => '1,"a"' || repeat(E'\t', 2000) || E'z\n2,3\n', options => '{"header": false}');

DROP TABLE r21_f, r21_f_i, r21_s, r21_s_i, r21_i, r21_t;

-- 6. Log text in a SQL_ASCII database, which takes any bytes unchecked: a
-- name's U+009B (CSI) stays the UTF-8 bytes C2 9B there, and went out as
-- it was (only UTF8 and ISO 8859 databases were escaped). A whole UTF-8
-- character (the euro sign, whose 0x82 is no C1 control) is kept.
CREATE DATABASE r21_ascii ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;
ALTER DATABASE r21_ascii RENAME TO "r21_€x";
SELECT datname AS r21_db FROM pg_database WHERE datname LIKE 'r21\_%' \gset
\c :"r21_db"
SET client_min_messages = warning;
CREATE EXTENSION pg_mlops CASCADE;
CREATE ROLE regress_r21 LOGIN IN ROLE ml_engineer, ml_analyst;
CREATE TABLE r21_o (id int, y float8);
INSERT INTO r21_o SELECT g, g FROM generate_series(1, 20) g;
GRANT SELECT ON r21_o TO ml_engineer;
SET ROLE regress_r21;
SELECT ml_create_project('r21_p', 'r21_o', 'y') > 0 AS created;
SELECT ml_schedule('r21_p', 'train', '5 * * * *') IS NOT NULL AS scheduled;
RESET ROLE;
\c contrib_regression
DROP DATABASE :"r21_db";
DROP ROLE regress_r21;

-- 7. An infinite number in a CSV column of numbers: "-Infinity" or "inf"
-- among numbers made the column text (every number stored as text), and
-- a declared double precision or numeric column rejected the line,
-- where float8in and numeric_in read them. Now they are numbers.
CREATE FUNCTION r21_types(t text) RETURNS text LANGUAGE sql AS $$
  SELECT string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position)
  FROM information_schema.columns WHERE table_name = t $$;
SELECT count(*) AS rejected FROM ml_import_csv('r21_inf1',
  data => E'x,y,z,w,v\n1.5,1,-infinity,inf,epoch\n-Infinity,2,1.5,2,infinity\n2.5, +INF ,7,3,2024-01-01\n');
SELECT r21_types('r21_inf1');
SELECT * FROM r21_inf1;
-- only infinity words: text (as only time words); then numbers or dates decide
SELECT count(*) AS rejected FROM ml_import_csv('r21_inf2',
  data => E'a,b,c\ninfinity,-infinity,-infinity\n-infinity,7,2024-01-01\n');
SELECT r21_types('r21_inf2');
SELECT * FROM r21_inf2;
-- declared: double precision and numeric take them, bigint rejects the line
SELECT line, reason FROM ml_import_csv('r21_inf3', data => E'x,y,z\n1,2,3\ninf,Infinity,-inf\n-inf,-infinity,4\n',
  options => '{"types": {"x": "double precision", "y": "numeric", "z": "bigint"}}');
SELECT * FROM r21_inf3;
DROP TABLE r21_inf1, r21_inf2, r21_inf3;
DROP FUNCTION r21_types(text);
