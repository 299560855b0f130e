-- Text that is mostly numbers (>= 95 % of its non-null cells parse) is read
-- as numbers: the cells that do not parse are gaps, counted and reported,
-- filled like the others, and (keep_unparsed) kept beside the column.
SET ROLE regress_alice;
SET client_min_messages = notice;
CREATE TABLE nt (id int, grp text, amount text, code text, few text);
INSERT INTO nt SELECT i, (ARRAY['a', 'b'])[i % 2 + 1],
  CASE WHEN i IN (3, 17) THEN NULL WHEN i = 5 THEN 'n/a' WHEN i = 9 THEN 'abc'
       WHEN i = 11 THEN '1,5' ELSE (10 + (i % 2) * 10 + (i % 3) * 0.25)::text END,
  pg_catalog.lpad((i % 5)::text, 3, '0'),                  -- codes with leading zeros
  CASE WHEN i % 10 = 0 THEN 'none' ELSE (i % 4)::text END  -- 90 %: not numbers
FROM generate_series(1, 100) i;

-- ml_impute: the column keeps its type text; the three garbage cells are gaps
-- filled with the text of the group's number; a notice counts them
SELECT column_name, filled, method FROM ml_impute('nt', into_table => 'nt_i') ORDER BY 1;
SELECT id, amount FROM nt_i WHERE id IN (3, 5, 9, 11, 17) ORDER BY id;
SELECT pg_typeof(amount) AS amount_type, count(*) FILTER (WHERE mlops.try_cast_numeric(amount) IS NULL) AS not_numbers
FROM nt_i GROUP BY 1;
SELECT x->>'column' AS col, x->>'unparsed' AS unparsed, x->'unparsed_examples' AS examples
FROM mlops.recipes r, jsonb_array_elements(r.report) x
WHERE r.id = (SELECT max(id) FROM mlops.recipes) AND x ? 'unparsed';
SELECT steps->0 AS first_step FROM mlops.recipes WHERE id = (SELECT max(id) FROM mlops.recipes);

-- ml_clean into a new table: a numeric column, the garbage reported and kept
SELECT column_name, kind, nulls_before, nulls_after, actions, new_columns
FROM ml_clean('nt', '{"keep_unparsed": true, "encode": false}', into_table => 'nt_c') ORDER BY column_name;
SELECT column_name, data_type FROM information_schema.columns
WHERE table_name = 'nt_c' ORDER BY ordinal_position;
SELECT id, amount, amount_unparsed FROM nt_c WHERE id IN (3, 4, 5, 9, 11, 17) ORDER BY id;
SELECT DISTINCT code FROM nt_c ORDER BY 1;

-- a recipe reads the same columns as numbers, even when new rows are mostly garbage
CREATE TABLE nt_new (id int, grp text, amount text, code text, few text);
INSERT INTO nt_new VALUES (1, 'a', 'oops', '001', '1'), (2, 'b', '12.5', '002', '2'),
    (3, 'a', NULL, '003', 'x');
SELECT column_name, actions, new_columns FROM ml_apply_recipe(
    (SELECT max(id) FROM mlops.recipes WHERE kind = 'clean'), 'nt_new', into_table => 'nt_new_c')
WHERE column_name = 'amount';
SELECT id, amount, amount_unparsed FROM nt_new_c ORDER BY id;

-- polish.text_types off: text stays text
SELECT column_name, kind, actions FROM ml_clean('nt', '{"polish": {"text_types": false}, "encode": false}',
    into_table => 'nt_keep') WHERE column_name = 'amount';

-- in place: the column becomes numeric (ALTER COLUMN ... TYPE), rows updated, never re-inserted
CREATE TABLE nt_ip AS SELECT id, amount FROM nt;
SELECT column_name, kind, actions, new_columns FROM ml_clean('nt_ip', '{"keep_unparsed": true}') ORDER BY 1;
SELECT column_name, data_type FROM information_schema.columns
WHERE table_name = 'nt_ip' ORDER BY ordinal_position;
SELECT id, amount, amount_unparsed FROM nt_ip WHERE id IN (5, 9, 11) ORDER BY id;

-- a declared role overrides inference
SELECT column_name, kind FROM ml_clean('nt', '{"roles": {"amount": "categorical"}, "encode": false}',
    into_table => 'nt_role') WHERE column_name = 'amount';

-- the large-table path: inferred on the sample, counted and filled on every row
CREATE TABLE nt_big AS
SELECT i AS id, (ARRAY['a', 'b'])[i % 2 + 1] AS grp,
       CASE WHEN i % 50 = 3 THEN NULL WHEN i % 100 = 5 THEN 'n/a' WHEN i % 100 = 9 THEN 'abc'
            ELSE (10 + (i % 2) * 10)::text END AS amount
FROM generate_series(1, 30000) i;
RESET ROLE;
VACUUM ANALYZE nt_big;
SET ROLE regress_alice;
SET maintenance_work_mem = '1MB';
SELECT column_name, nulls_before, nulls_after, actions, new_columns
FROM ml_clean('nt_big', '{"keep_unparsed": true, "encode": false}', into_table => 'nt_big_c')
WHERE column_name = 'amount';
SELECT pg_typeof(amount) AS amount_type, count(*) AS n, count(amount_unparsed) AS kept,
       count(*) FILTER (WHERE amount IS NULL) AS gaps,
       count(*) FILTER (WHERE amount <> 10 + (id % 2) * 10) AS wrong
FROM nt_big_c GROUP BY 1;
SELECT column_name, filled FROM ml_impute('nt_big', '{amount}', into_table => 'nt_big_i');
SELECT count(*) FILTER (WHERE mlops.try_cast_numeric(amount) IS NULL) AS not_numbers FROM nt_big_i;
RESET maintenance_work_mem;

-- new column names are clipped on a character boundary, also when made unique
CREATE TABLE nt_names (id int, v float8);
ALTER TABLE nt_names RENAME COLUMN v TO "aéééééééééééééééééééééééééééééé";
ALTER TABLE nt_names ADD COLUMN "aéééééééééééééééééééééééééééééé_w" int;
INSERT INTO nt_names SELECT i, CASE WHEN i % 5 = 0 THEN NULL ELSE i END, i FROM generate_series(1, 30) i;
SELECT column_name, new_columns FROM ml_clean('nt_names', '{"indicators": true, "outliers": false}',
    into_table => 'nt_names_c') WHERE new_columns <> '';
SELECT column_name, octet_length(column_name) AS bytes FROM information_schema.columns
WHERE table_name = 'nt_names_c' ORDER BY ordinal_position;
RESET ROLE;
