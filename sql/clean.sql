-- ml_clean: each step on small tables with known answers.
SET ROLE regress_alice;
CREATE TABLE cl (
    id int, city text, flag text, amount float8, qty float8, price numeric(8,2),
    code text, ordered timestamp, shipped timestamp);
INSERT INTO cl
SELECT i,
       (ARRAY['Paris', 'Lyon', 'Nice'])[i % 3 + 1],
       CASE WHEN i % 2 = 0 THEN 'yes' ELSE 'no' END,
       CASE WHEN i = 7 THEN 1000 ELSE 10 + (i % 13) * 0.75 END,
       CASE WHEN i % 10 = 3 THEN NULL ELSE i % 4 END,
       (i % 7) * 1.25,
       (100 + i % 3)::text,
       '2024-03-01'::timestamp + i * interval '7 hours',
       '2024-03-01'::timestamp + i * interval '7 hours' + interval '90 minutes'
FROM generate_series(1, 40) i;
INSERT INTO cl SELECT * FROM cl WHERE id IN (1, 2);     -- two exact duplicates

-- the default pipeline, into a new table
SELECT column_name, kind, nulls_before, nulls_after, actions, new_columns
FROM ml_clean('cl', into_table => 'cl_clean');
SELECT count(*) AS rows_after FROM cl_clean;
SELECT column_name, data_type FROM information_schema.columns
WHERE table_name = 'cl_clean' ORDER BY ordinal_position;
-- the outlier (1000) is winsorized to the IQR bound; qty had no gaps left
SELECT max(amount) AS max_amount, count(*) FILTER (WHERE qty IS NULL) AS qty_gaps FROM cl_clean;
-- one-hot columns sum to one per row; the text numbers became integers
SELECT DISTINCT "city_Paris" + "city_Lyon" + "city_Nice" AS onehot_sum FROM cl_clean;
SELECT DISTINCT code FROM cl_clean ORDER BY 1;
-- two datetime columns never overwrite each other's parts; elapsed seconds
SELECT DISTINCT shipped_minus_ordered FROM cl_clean;
SELECT ordered_hour, shipped_hour FROM cl_clean WHERE id = 3;
DROP TABLE cl_clean;

-- each step switched and configured
SELECT column_name, actions, new_columns FROM ml_clean('cl', '{
    "duplicates": {"keys": ["id"]},
    "outliers": {"method": "zscore", "k": 2, "action": "flag", "columns": ["amount"]},
    "encode": {"method": "ordinal", "skip": ["flag"]},
    "datetime": {"parts": ["dow", "hour"], "cyclical": true, "elapsed": false, "keep_original": false},
    "polish": {"text_types": false},
    "indicators": true
  }', into_table => 'cl2') WHERE actions <> 'kept' OR new_columns <> '';
SELECT amount, amount_outlier FROM cl2 WHERE id IN (6, 7) ORDER BY id;
SELECT DISTINCT city_ordinal FROM cl2 ORDER BY 1;
SELECT qty_was_missing, count(*) FROM cl2 GROUP BY 1 ORDER BY 1;
DROP TABLE cl2;
SELECT actions FROM ml_clean('cl', '{
    "outliers": {"method": "mad", "action": "delete", "columns": ["amount"]},
    "encode": false, "datetime": false}', into_table => 'cl3') WHERE column_name = 'amount';
SELECT count(*) AS rows_left, max(amount) AS max_amount FROM cl3;
DROP TABLE cl3;
-- hashing and frequency encodings
SELECT column_name, new_columns FROM ml_clean('cl', '{"encode": {"method": "frequency"},
    "datetime": false, "outliers": false}', into_table => 'cl4') WHERE new_columns <> '';
SELECT DISTINCT city, round(city_frequency::numeric, 4) AS f FROM cl4 JOIN cl USING (id) ORDER BY 1;
DROP TABLE cl4;
SELECT column_name, new_columns FROM ml_clean('cl', '{"encode": {"method": "hashing", "buckets": 4,
    "columns": ["city"]}, "datetime": false, "outliers": false}', into_table => 'cl5')
WHERE new_columns <> '';
SELECT DISTINCT city_hash0 + city_hash1 + city_hash2 + city_hash3 AS one FROM cl5;
DROP TABLE cl5;

-- target encoding: out of fold on these rows, the full encoding on new rows
SELECT column_name, new_columns FROM ml_clean('cl', '{"target": "amount",
    "encode": {"method": "target", "columns": ["city"], "smoothing": 5},
    "outliers": false, "datetime": false}', into_table => 'cl7') WHERE new_columns <> '';
SELECT count(DISTINCT round(city_target::numeric, 6)) AS distinct_encodings,
       bool_and(city_target BETWEEN 10 AND 1000) AS in_target_range FROM cl7;
SELECT step->>'method' AS method, jsonb_array_length(step->'encodings') AS levels,
       round((step->>'prior')::numeric, 3) AS prior
FROM mlops.recipes, jsonb_array_elements(steps) step
WHERE step->>'step' = 'encode' ORDER BY id DESC LIMIT 1;
DROP TABLE cl7;

-- per-group outlier bounds
CREATE TABLE grp_out AS
SELECT i, CASE WHEN i % 2 = 0 THEN 'small' ELSE 'large' END AS kind,
       CASE WHEN i % 2 = 0 THEN 1 + i % 3 ELSE 100 + i % 3 END::float8 AS v
FROM generate_series(1, 60) i;
UPDATE grp_out SET v = 50 WHERE i = 2;   -- normal overall, an outlier among the small ones
SELECT column_name, actions FROM ml_clean('grp_out', '{"outliers": {"by": "kind", "columns": ["v"]},
    "encode": false}', into_table => 'grp_clean') WHERE column_name = 'v';
SELECT v FROM grp_clean WHERE i = 2;

-- in place: the table itself takes the cleaned rows and shape
CREATE TABLE inplace AS SELECT id, city, amount, qty FROM cl;
SELECT column_name, actions FROM ml_clean('inplace', '{"outliers": false}') ORDER BY 1;
SELECT column_name, data_type FROM information_schema.columns
WHERE table_name = 'inplace' ORDER BY ordinal_position;
SELECT count(*) AS rows, count(*) FILTER (WHERE qty IS NULL) AS gaps FROM inplace;

-- target awareness: a project's target is neither winsorized, encoded nor a feature
SELECT ml_create_project('cl project', 'cl', 'amount') > 0 AS created;
SELECT column_name, kind, actions FROM ml_clean('cl', '{"datetime": false}', into_table => 'cl6')
WHERE column_name IN ('amount', 'qty');
SELECT max(amount) AS amount_untouched FROM cl6;
SELECT steps::text LIKE '%"amount"%' AS recipe_mentions_target
FROM mlops.recipes WHERE kind = 'clean' ORDER BY id DESC LIMIT 1;
SELECT ml_drop_project('cl project');

-- declared roles override inference: text read as numbers and as times
CREATE TABLE rl (id int, amount_txt text, when_txt text, code int);
INSERT INTO rl SELECT i, CASE WHEN i % 9 = 0 THEN NULL WHEN i = 5 THEN 'n/a' ELSE (i * 1.5)::text END,
       CASE WHEN i % 7 = 0 THEN NULL ELSE ('2024-05-01'::timestamp + i * interval '1 day')::text END,
       i % 3
FROM generate_series(1, 40) i;
SELECT column_name, kind, nulls_before, nulls_after, actions, new_columns FROM ml_clean('rl', '{
    "roles": {"amount_txt": "numeric", "when_txt": "datetime", "code": "categorical", "id": "skip"},
    "datetime": {"parts": ["month", "dow"]}, "outliers": false}', into_table => 'rl_clean');
SELECT column_name, data_type FROM information_schema.columns
WHERE table_name = 'rl_clean' ORDER BY ordinal_position;
SELECT id, round(amount_txt, 9) AS amount_txt, when_txt FROM rl_clean WHERE id IN (5, 7, 9) ORDER BY id;
SELECT DISTINCT recipe_id AS roles_recipe FROM ml_cleaning_report ORDER BY 1 DESC LIMIT 1 \gset
SELECT column_name, actions FROM ml_apply_recipe(:roles_recipe, 'rl', into_table => 'rl_again')
WHERE actions <> 'kept';
SELECT count(*) AS differences FROM (SELECT * FROM rl_clean EXCEPT ALL SELECT * FROM rl_again) d;

-- the report, kept as a view
SELECT column_name, column_kind, nulls_before, filled, outliers, encoding, "cast"
FROM ml_cleaning_report WHERE recipe_id = (SELECT max(recipe_id) FROM ml_cleaning_report)
ORDER BY column_name;

-- bad input
SELECT regress_try($$SELECT * FROM ml_clean('cl', '{"dupes": true}')$$);
SELECT regress_try($$SELECT * FROM ml_clean('cl', '{"outliers": {"method": "magic"}}')$$);
SELECT regress_try($$SELECT * FROM ml_clean('cl', '{"outliers": {"action": "ignore"}}')$$);
SELECT regress_try($$SELECT * FROM ml_clean('cl', '{"encode": {"method": "target"}}')$$);
SELECT regress_try($$SELECT * FROM ml_clean('cl', '{"encode": 3}')$$);
SELECT regress_try($$SELECT * FROM ml_clean('cl', '{"datetime": {"parts": ["fortnight"]}}')$$);
SELECT regress_try($$SELECT * FROM ml_clean('cl', '{"duplicates": {"keys": ["nope"]}}')$$);
SELECT regress_try($$SELECT * FROM ml_clean('cl', into_table => 'cl')$$);
SELECT regress_try($$SELECT * FROM ml_clean(NULL)$$);
CREATE TABLE cl_empty (a int, b text);
SELECT column_name, actions FROM ml_clean('cl_empty', into_table => 'cl_empty2');
SELECT count(*) FROM cl_empty2;
RESET ROLE;
