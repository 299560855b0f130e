-- Inputs that crashed the backend or silently changed meaning (issue 6):
-- each must now give a clear error or the right result.
SET ROLE regress_alice;

-- a float column declared "text" and imputed explicitly
CREATE TABLE k_roles (x float8, y float8);
INSERT INTO k_roles SELECT CASE WHEN i % 4 = 0 THEN NULL ELSE i END, i FROM generate_series(1, 20) i;
SELECT regress_try($$SELECT * FROM ml_impute('k_roles', '{x}', 'mean', '{"roles": {"x": "text"}}')$$);
SELECT count(*) FILTER (WHERE x IS NULL) AS x_gaps FROM k_roles;

-- per-column method overrides get the main method's checks
SELECT regress_try($$SELECT * FROM ml_impute('k_roles', '{x}', 'mean', '{"methods": {"x": "constant"}}')$$);
SELECT regress_try($$SELECT * FROM ml_impute('k_roles', '{x}', 'mean', '{"methods": {"x": "locf"}}')$$);
SELECT regress_try($$SELECT * FROM ml_impute('k_roles', '{x}', 'mean', '{"methods": {"x": "interpolate"}}')$$);
SELECT regress_try($$SELECT * FROM ml_clean('k_roles', '{"missing": {"methods": {"x": "constant"}}}', 'k_roles_c')$$);
SELECT regress_try($$SELECT * FROM ml_impute('k_roles', '{x}', 'mean', '{"methods": {"x": "bogus"}}')$$);

-- mice with three or more target columns
CREATE TABLE k_mice AS
SELECT i, CASE WHEN i % 5 = 0 THEN NULL ELSE i * 1.0 END AS a,
       CASE WHEN i % 7 = 0 THEN NULL ELSE i * 2.0 + 1 END AS b,
       CASE WHEN i % 3 = 0 THEN NULL ELSE i * 0.5 - 2 END AS c,
       CASE WHEN i % 11 = 0 THEN NULL ELSE i * 3.0 END AS d
FROM generate_series(1, 60) i;
SELECT column_name, filled FROM ml_impute('k_mice', '{a,b,c,d}', 'mice') ORDER BY 1;
SELECT count(*) FILTER (WHERE a IS NULL OR b IS NULL OR c IS NULL OR d IS NULL) AS gaps_left FROM k_mice;

-- "text" on a float column: auto and mode reached a NULL text
SELECT regress_try($$SELECT * FROM ml_impute('k_roles', '{x}', 'mode', '{"roles": {"x": "text"}}')$$);
SELECT regress_try($$SELECT * FROM ml_impute('k_roles', '{x}', 'auto', '{"roles": {"x": "text"}}')$$);
SELECT regress_try($$SELECT * FROM ml_impute('k_roles', NULL, 'auto', '{"roles": {"x": "text"}}')$$);
SELECT regress_try($$SELECT * FROM ml_clean('k_roles', '{"roles": {"x": "text"}, "missing": {"columns": ["x"]}}', 'k_roles_c2')$$);

-- the large-table path reads declared roles too
CREATE TABLE k_large AS
SELECT i AS id, CASE WHEN i % 10 = 0 THEN NULL ELSE (i % 7)::text END AS t, (i % 5)::float8 AS v
FROM generate_series(1, 30000) i;
RESET ROLE;
VACUUM ANALYZE k_large;
SET ROLE regress_alice;
SET maintenance_work_mem = '1MB';
SELECT column_name, filled, method FROM ml_impute('k_large', '{t}', 'median', '{"roles": {"t": "numeric"}}', 'k_large_i');
SELECT count(*) FILTER (WHERE t IS NULL) AS gaps, count(*) FILTER (WHERE t = '3') AS threes FROM k_large_i;
SELECT column_name, nulls_before, nulls_after
FROM ml_clean('k_large', '{"roles": {"t": "numeric"}, "outliers": false, "encode": false}', 'k_large_c')
WHERE column_name = 't';
SELECT regress_try($$SELECT * FROM ml_impute('k_large', '{t}', 'mean', '{"methods": {"t": "locf"}}')$$);
RESET maintenance_work_mem;

-- NaN and infinities in the data: the recipe's JSON stays valid
CREATE TABLE k_nan AS
SELECT i, CASE WHEN i % 9 = 0 THEN 'NaN'::float8 WHEN i = 5 THEN 'Infinity' ELSE i END AS a,
       CASE WHEN i % 4 = 0 THEN NULL ELSE i * 2.0 END AS b
FROM generate_series(1, 40) i;
SELECT column_name, filled FROM ml_impute('k_nan', '{b}', 'regression', into_table => 'k_nan_r');
SELECT column_name, filled FROM ml_impute('k_nan', '{b}', 'knn', into_table => 'k_nan_k');
SELECT column_name, nulls_after FROM ml_clean('k_nan', '{}', 'k_nan_c') ORDER BY 1;
SELECT column_name, nulls_after FROM ml_apply_recipe((SELECT max(recipe_id) FROM ml_cleaning_report), 'k_nan', 'k_nan_c2') ORDER BY 1;

-- a recipe fitted on text, applied to a timestamp column of the same name
CREATE TABLE k_rt (c text, n float8);
INSERT INTO k_rt SELECT CASE WHEN i % 5 = 0 THEN NULL ELSE 'v' || (i % 3) END, i FROM generate_series(1, 30) i;
CREATE TABLE k_rt2 (c timestamptz, n float8);
INSERT INTO k_rt2 SELECT CASE WHEN i % 5 = 0 THEN NULL ELSE '2024-01-01'::timestamptz + i * interval '1 day' END, i
FROM generate_series(1, 30) i;
SELECT recipe_id AS rt_mode FROM ml_impute('k_rt', '{c}', 'mode', into_table => 'k_rt_i') \gset
SELECT regress_try(format('SELECT * FROM ml_apply_recipe(%s, %L)', :rt_mode, 'k_rt2'));
SELECT regress_try(format('SELECT * FROM ml_apply_recipe(%s, %L)', :rt_mode, 'k_roles'));
ALTER TABLE k_roles RENAME COLUMN x TO c;
SELECT regress_try(format('SELECT * FROM ml_apply_recipe(%s, %L)', :rt_mode, 'k_roles'));
ALTER TABLE k_roles RENAME COLUMN c TO x;
SELECT recipe_id AS rt_group FROM ml_impute('k_rt', '{n}', 'groupwise', '{"by": ["c"]}', into_table => 'k_rt_g') \gset
CREATE TABLE k_rt3 (c timestamptz, n float8);
INSERT INTO k_rt3 SELECT '2024-01-01'::timestamptz + i * interval '1 day', CASE WHEN i % 4 = 0 THEN NULL ELSE i END
FROM generate_series(1, 30) i;
SELECT regress_try(format('SELECT * FROM ml_apply_recipe(%s, %L)', :rt_group, 'k_rt3'));
SELECT count(*) FILTER (WHERE n IS NULL) AS gaps_unchanged FROM k_rt3;

-- a column with nothing observed: its "none" step reads back
CREATE TABLE k_none (a float8, b float8);
INSERT INTO k_none VALUES (1, NULL), (NULL, NULL), (3, NULL);
SELECT column_name, filled, method FROM ml_impute('k_none', into_table => 'k_none_i');
SELECT max(id) AS none_recipe FROM mlops.recipes WHERE kind = 'impute' \gset
SELECT column_name, nulls_before FROM ml_apply_recipe(:none_recipe, 'k_none') ORDER BY 1;
SELECT count(*) FILTER (WHERE a IS NULL) AS a_gaps, count(*) FILTER (WHERE b IS NULL) AS b_gaps FROM k_none;

-- stored recipes are checked when read back (tampered by a superuser)
CREATE TABLE k_tamper AS SELECT * FROM k_mice;
UPDATE k_tamper SET a = NULL WHERE i % 5 = 0;
SELECT recipe_id AS r_knn FROM ml_impute('k_tamper', '{a}', 'knn', '{"k": 3}', into_table => 'k_knn') \gset
SELECT recipe_id AS r_reg FROM ml_impute('k_tamper', '{a}', 'regression', into_table => 'k_reg') \gset
CREATE TABLE k_cast (s text, w text);
INSERT INTO k_cast SELECT (i % 7)::text, 'w' || i FROM generate_series(1, 20) i;
SELECT recipe_id AS r_clean FROM ml_clean('k_cast', '{}', 'k_cast_c') LIMIT 1 \gset
SELECT recipe_id AS r_onehot FROM ml_clean('k_rt', '{"outliers": false}', 'k_rt_c') LIMIT 1 \gset
RESET ROLE;
UPDATE mlops.recipes SET steps = (SELECT jsonb_agg(CASE WHEN s->>'step' = 'encode'
        THEN jsonb_set(s, '{names}', '[]') ELSE s END) FROM jsonb_array_elements(steps) s)
WHERE id = :r_onehot;
UPDATE mlops.recipes SET steps = jsonb_set(steps, '{0,k}', '0') WHERE id = :r_knn;
UPDATE mlops.recipes SET steps = jsonb_set(steps, '{0,coefficients}', '[1, 2]') WHERE id = :r_reg;
UPDATE mlops.recipes SET steps = (SELECT jsonb_agg(CASE WHEN s->>'step' = 'cast'
        THEN jsonb_set(s, '{to}', '"text); DROP TABLE k_roles; --"') ELSE s END) FROM jsonb_array_elements(steps) s)
WHERE id = :r_clean;
SET ROLE regress_alice;
SELECT steps @> '[{"step": "cast"}]' AS has_cast FROM mlops.recipes WHERE id = :r_clean;
SELECT regexp_replace(regress_try(format('SELECT * FROM ml_apply_recipe(%s, %L)', :r_knn, 'k_tamper')), 'recipe \d+', 'recipe N');
SELECT regexp_replace(regress_try(format('SELECT * FROM ml_apply_recipe(%s, %L)', :r_reg, 'k_tamper')), 'recipe \d+', 'recipe N');
SELECT regexp_replace(regress_try(format('SELECT * FROM ml_apply_recipe(%s, %L, %L)', :r_clean, 'k_cast', 'k_cast_c2')), 'recipe \d+', 'recipe N');
SELECT steps @> '[{"step": "encode", "method": "onehot"}]' AS has_onehot FROM mlops.recipes WHERE id = :r_onehot;
SELECT regexp_replace(regress_try(format('SELECT * FROM ml_apply_recipe(%s, %L, %L)', :r_onehot, 'k_rt', 'k_rt_c2')), 'recipe \d+', 'recipe N');
SELECT regress_try(format('SELECT * FROM ml_apply_recipe(%s, %L, %L)', :r_onehot, 'k_rt2', 'k_rt_c3'));
CREATE TABLE k_part AS SELECT '2024-01-01'::timestamptz + i * interval '7 hours' AS ts,
    CASE WHEN i % 6 = 0 THEN NULL ELSE i % 24 END::float8 AS v FROM generate_series(1, 200) i;
SELECT recipe_id AS r_part FROM ml_impute('k_part', '{v}', 'groupwise', '{"by": ["ts"]}', 'k_part_i') \gset
RESET ROLE;
UPDATE mlops.recipes SET steps = jsonb_set(steps, '{0,keys,0,part}', '"day"') WHERE id = :r_part;
SET ROLE regress_alice;
SELECT steps->0->'keys'->0->>'part' AS part FROM mlops.recipes WHERE id = :r_part;
SELECT regexp_replace(regress_try(format('SELECT * FROM ml_apply_recipe(%s, %L)', :r_part, 'k_part')), 'recipe \d+', 'recipe N');
SELECT count(*) AS k_roles_still_there FROM k_roles;

-- text numbers beyond the bigint range: the never-failing cast gives NULL
INSERT INTO k_cast VALUES ('99999999999999999999999', 'big'), ('-9223372036854775809', 'small'),
    ('9223372036854775807', 'max');
SELECT column_name, actions FROM ml_clean('k_cast', '{"outliers": false}', 'k_cast_c3') ORDER BY 1;
SELECT w, s FROM k_cast_c3 WHERE w IN ('big', 'small', 'max', 'w1') ORDER BY w;

-- constants are read by the column type's own input function
CREATE TABLE k_const (d date, ts timestamptz, n integer, b boolean);
INSERT INTO k_const VALUES ('2024-01-01', '2024-01-01 10:00+00', 1, true), (NULL, NULL, NULL, NULL),
    ('2024-01-03', '2024-01-03 10:00+00', 3, false);
SET timezone = 'UTC';
SELECT column_name, filled, recipe_id AS r_const FROM ml_impute('k_const', '{d}', 'constant', '{"value": "2024-02-15"}', 'k_const_d') \gset
SELECT d FROM k_const_d ORDER BY d;
SELECT steps->0->>'value' AS stored FROM mlops.recipes WHERE id = :r_const;
SELECT column_name, nulls_before FROM ml_apply_recipe(:r_const, 'k_const', 'k_const_d2');
SELECT d FROM k_const_d2 ORDER BY d;
SELECT column_name, filled FROM ml_impute('k_const', '{ts}', 'constant', '{"value": "2024-02-15 12:30"}', 'k_const_t');
SELECT ts FROM k_const_t ORDER BY ts;
SELECT column_name, filled FROM ml_impute('k_const', '{b}', 'constant', '{"value": "yes"}', 'k_const_b');
SELECT b FROM k_const_b ORDER BY b;
SELECT regress_try($$SELECT * FROM ml_impute('k_const', '{d}', 'constant', '{"value": "not a date"}')$$);
SELECT regress_try($$SELECT * FROM ml_impute('k_const', '{ts}', 'constant', '{"value": "infinity"}')$$);
SELECT regress_try($$SELECT * FROM ml_impute('k_const', '{n}', 'constant', '{"value": "99999999999"}')$$);
SELECT regress_try($$SELECT * FROM ml_impute('k_const', '{b}', 'constant', '{"value": "maybe"}')$$);
SELECT regress_try($$SELECT * FROM ml_impute('k_const', '{d,n}', 'mean', '{"value": "2024-02-15", "methods": {"d": "constant"}}')$$);
RESET timezone;

-- values near 1e300: the statistics do not overflow
CREATE TABLE k_huge AS SELECT i, CASE WHEN i % 5 = 0 THEN NULL ELSE i * 1e300::float8 END AS x
FROM generate_series(1, 40) i;
SELECT column_name, nulls_before, nulls_after FROM ml_clean('k_huge', '{"outliers": false}', 'k_huge_c') ORDER BY 1;
SELECT mean_after > 1e301 AS mean_ok FROM ml_cleaning_report
WHERE relation = 'public.k_huge' AND column_name = 'x';
SELECT column_name, filled, method FROM ml_impute('k_huge', '{x}', 'mean', into_table => 'k_huge_m');
SELECT column_name, filled, method FROM ml_impute('k_huge', '{x}', 'auto', into_table => 'k_huge_a');
SELECT count(*) FILTER (WHERE x IS NULL) AS gaps FROM k_huge_a;

-- roles numeric/datetime on a type that is neither that kind nor text
SET ROLE regress_alice;
CREATE TABLE k_arr (id int[], x float8);
INSERT INTO k_arr VALUES (ARRAY[1, 2], 1), (NULL, NULL), (ARRAY[3], 3);
SELECT regress_try($$SELECT * FROM ml_clean('k_arr', '{"roles": {"id": "numeric"}}', into_table => 'k_arr_c')$$);
SELECT regress_try($$SELECT * FROM ml_impute('k_arr', options => '{"roles": {"x": "datetime"}}')$$);
RESET ROLE;

-- whole-number options: out-of-range, fractional and NaN values are errors
SET ROLE regress_alice;
SELECT regress_try($$SELECT * FROM ml_impute('k_roles', '{x}', 'knn', '{"seed": 1099511627776}')$$);
SELECT regress_try($$SELECT * FROM ml_impute('k_roles', '{x}', 'knn', '{"k": 5.9}')$$);
SELECT regress_try($$SELECT * FROM ml_impute('k_roles', '{x}', 'knn', '{"k": "NaN"}')$$);
SELECT regress_try($$SELECT * FROM ml_impute('k_roles', '{x}', 'learned', '{"epochs": 1e300}')$$);
RESET ROLE;

-- fills the column's type cannot hold are left missing and reported, never a
-- broken cast (regression extrapolating past smallint and numeric(3,1); a
-- recipe fitted on larger numbers applied to an integer column)
SET ROLE regress_alice;
CREATE TABLE k_narrow AS SELECT i, (i * 100)::smallint AS s, (i / 10.0)::numeric(3,1) AS n
FROM generate_series(1, 300) i;
INSERT INTO k_narrow VALUES (1000, NULL, NULL), (20, NULL, NULL);
SELECT column_name, filled, method FROM ml_impute('k_narrow', '{s,n}', 'regression', into_table => 'k_narrow_i') ORDER BY 1;
SELECT i, s, n FROM k_narrow_i WHERE i IN (20, 1000) ORDER BY i;
CREATE TABLE k_wide (x bigint);
INSERT INTO k_wide VALUES (1000000000000), (3000000000000), (NULL);
CREATE TABLE k_int (x int);
INSERT INTO k_int VALUES (1), (NULL);
SELECT column_name, filled FROM ml_impute('k_wide', '{x}', 'mean', into_table => 'k_wide_i');
SELECT regress_try(format('SELECT count(*) FROM ml_apply_recipe(%s, %L, into_table => %L)',
    (SELECT max(id) FROM mlops.recipes), 'k_int', 'k_int_r'));
SELECT x FROM k_int_r ORDER BY x;
RESET ROLE;

-- datetime parts of dates beyond the timestamp range and of infinite values:
-- computed without a cast to timestamp (NULL parts for infinity)
SET ROLE regress_alice;
CREATE TABLE k_far (id int, d date, ts timestamp);
INSERT INTO k_far VALUES (1, DATE '5874897-12-31', 'infinity'), (2, DATE '4713-01-01 BC', '-infinity'),
    (3, DATE '2024-03-09', TIMESTAMP '2024-03-09 13:45'), (4, 'infinity', TIMESTAMP '2024-03-10 01:00');
SELECT column_name, actions, new_columns FROM ml_clean('k_far', '{"datetime": {"parts": ["year", "month", "hour", "second", "weekend"]}, "outliers": false}',
    into_table => 'k_far_c') ORDER BY 1;
SELECT * FROM k_far_c ORDER BY id;
SELECT regress_try(format('SELECT count(*) FROM ml_apply_recipe(%s, %L, into_table => %L)',
    (SELECT max(id) FROM mlops.recipes), 'k_far', 'k_far_r'));
RESET ROLE;

-- numeric values beyond float8's range: the after-statistics do not cast to float8
SET ROLE regress_alice;
CREATE TABLE k_bignum (id int, x numeric);
INSERT INTO k_bignum SELECT i, CASE WHEN i = 1 THEN 1e400 WHEN i = 2 THEN NULL ELSE i END FROM generate_series(1, 30) i;
SELECT column_name, nulls_before, nulls_after FROM ml_clean('k_bignum', '{"outliers": false, "polish": false}', into_table => 'k_bignum_c') ORDER BY 1;
SELECT x->>'max_after' AS max_after FROM mlops.recipes r, jsonb_array_elements(r.report) x
WHERE r.id = (SELECT max(id) FROM mlops.recipes) AND x->>'column' = 'x';
RESET ROLE;

-- auto when no candidate's error is a number (squares of 1e300 overflow):
-- the global mean, never a NULL winner
SET ROLE regress_alice;
CREATE TABLE k_nanerr AS SELECT i, CASE WHEN i % 5 = 0 THEN NULL ELSE ((i % 7) - 3) * 1e300::float8 END AS x
FROM generate_series(1, 20) i;
SELECT column_name, filled, method FROM ml_impute('k_nanerr', '{x}', into_table => 'k_nanerr_i');
RESET ROLE;

-- The Bayesian ridge penalty on values whose squares overflow: no division
-- by zero (the UBSan run of make sanitize fails on one), the mean instead.
SET ROLE regress_alice;
CREATE TABLE k_bayes AS
SELECT CASE WHEN i % 5 < 3 THEN NULL ELSE ((i % 7) - 3) * 1e300::float8 END AS x,
       CASE WHEN i % 5 = 1 THEN NULL ELSE (i % 101) / 7.0 END::float8 AS t,
       (ARRAY['a', 'b', 'c', 'd'])[i % 4 + 1] AS w
FROM generate_series(1, 300) i;
SELECT column_name, nulls_after FROM ml_clean('k_bayes', '{"datetime": false}', into_table => 'k_bayes_c')
ORDER BY column_name;
RESET ROLE;

-- A recipe fitted on a text column applied to a relation whose same-named
-- column is jsonb (found by the randomized run): our own error, not the
-- json parser's from inside the statement we built; boolean takes 't'/'f'.
SET ROLE regress_alice;
CREATE TABLE k_txt AS
SELECT i AS id, CASE WHEN i % 4 = 0 THEN NULL WHEN i % 2 = 0 THEN 't' ELSE 'f' END AS c, (i % 7)::float8 AS x
FROM generate_series(1, 60) i;
CREATE TABLE k_js AS
SELECT i AS id, CASE WHEN i % 4 = 0 THEN NULL ELSE jsonb_build_object('k', i % 3) END AS c, (i % 7)::float8 AS x
FROM generate_series(1, 60) i;
CREATE TABLE k_bool AS
SELECT i AS id, CASE WHEN i % 4 = 0 THEN NULL ELSE i % 2 = 0 END AS c, (i % 7)::float8 AS x
FROM generate_series(1, 60) i;
SELECT DISTINCT recipe_id AS k_txt_recipe FROM ml_impute('k_txt', into_table => 'k_txt_i') \gset
SELECT regress_try(format($$SELECT * FROM ml_apply_recipe(%s, 'k_js', into_table => 'k_js_i')$$, :k_txt_recipe));
SELECT to_regclass('k_js_i') IS NULL AS nothing_written;
SELECT column_name, nulls_before, nulls_after
FROM ml_apply_recipe(:k_txt_recipe, 'k_bool', into_table => 'k_bool_i') WHERE column_name = 'c';
SELECT c, count(*) FROM k_bool_i GROUP BY c ORDER BY c;
RESET ROLE;

-- Whole floats beyond 1e15 narrowed to bigint by an in-place ml_clean:
-- the ALTER casts them directly ('1e+16', a float's text, is no bigint).
SET ROLE regress_alice;
CREATE TABLE k_bigwhole AS
SELECT i AS id, CASE WHEN i % 6 = 0 THEN NULL ELSE (i % 3 + 1) * 1e16::float8 END AS x,
       (i % 5)::float8 AS w
FROM generate_series(1, 60) i;
SELECT column_name, nulls_before, nulls_after FROM ml_clean('k_bigwhole') WHERE column_name = 'x';
SELECT pg_typeof(x) AS x_type, count(*), min(x) = 1e16::bigint AS exact FROM k_bigwhole GROUP BY 1;
RESET ROLE;
